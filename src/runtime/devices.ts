/**
 * Host devices in a container (docker's --device HOST[:CONTAINER][:PERMS], HOST a node or a folder of them). mknod is denied in a user
 * namespace, so the host's node is bound into the container's /dev, as runc and crun do for rootless
 * containers: the bind keeps the flags of the host's devtmpfs, so the node works although the container's own
 * /dev tmpfs, mounted in its user namespace, can hold no working node. Without a device cgroup nothing
 * enforces PERMS: what the node's mode lets the container's processes do is what they can do. So a node is
 * checked here, before anything is made, for what the container can really open: its processes keep none of
 * the caller's host groups (setgroups is reset in the namespace), so a node open to the caller only through
 * a supplementary group (/dev/kvm's kvm, /dev/dri's render) is refused, with the reason.
 */
import { accessSync, constants, type Dirent, readdirSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { DevboxError, usageError } from '../util/errors.js';
import type { BindMount } from './spec.js';

/** One device as docker's HostConfig.Devices has it. */
export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

/** HOST, HOST:CONTAINER, HOST:PERMS or HOST:CONTAINER:PERMS, as docker splits them; PERMS default rwm. */
export function parseDevice(spec: string): DeviceMapping {
  const parts = spec.split(':');
  const perms = (text: string | undefined) => text !== undefined && /^[rwm]{1,3}$/.test(text) && new Set(text).size === text.length;
  let [host, inside, permissions] = [parts[0], parts[0], 'rwm'];
  if (parts.length === 2 && perms(parts[1])) permissions = parts[1];
  else if (parts.length === 2) inside = parts[1];
  else if (parts.length === 3 && perms(parts[2])) [inside, permissions] = [parts[1], parts[2]];
  else if (parts.length !== 1) throw usageError(`invalid --device "${spec}"`, 'give HOST[:CONTAINER][:PERMS], PERMS made of r, w and m');
  if (!isAbsolute(host) || !isAbsolute(inside))
    throw usageError(`invalid --device "${spec}": the paths must be absolute`, 'e.g. --device /dev/fuse or --device /dev/net/tun:/dev/net/tun:rw');
  return { PathOnHost: host, PathInContainer: inside, CgroupPermissions: permissions };
}

/** Whether the container's processes get `mode` (R_OK|W_OK bits) on the node: its other bits, or the caller's own uid or primary gid. */
function openableInside(st: Stats, mode: number): boolean {
  const want = (shift: number) => ((mode & constants.R_OK ? 4 : 0) | (mode & constants.W_OK ? 2 : 0)) << shift;
  const granted = (shift: number) => (st.mode & want(shift)) === want(shift);
  if (st.uid === process.getuid!()) return granted(6);
  if (st.gid === process.getgid!()) return granted(3);
  return granted(0);
}

/** The node's mapping if the container can open it as asked; else the one line saying why not. */
function checkNode(device: DeviceMapping, st: Stats): DeviceMapping | DevboxError {
  const path = device.PathOnHost;
  const perms = device.CgroupPermissions;
  const mode = (perms.includes('r') ? constants.R_OK : 0) | (perms.includes('w') ? constants.W_OK : 0);
  if (mode === 0 || process.getuid!() === 0 || openableInside(st, mode)) return device;
  const what = `${perms.includes('r') ? 'read' : ''}${perms.includes('r') && perms.includes('w') ? ' and ' : ''}${perms.includes('w') ? 'write' : ''}`;
  const owner = `mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}, group ${st.gid}`;
  let throughGroup = false;
  try {
    accessSync(path, mode);
    throughGroup = true;
  } catch {
    // not even the caller may open it
  }
  return new DevboxError(
    throughGroup
      ? `--device ${path}: you may ${what} it only through your supplementary group ${st.gid}, which a rootless container's processes do not keep (${owner})`
      : `--device ${path}: you cannot ${what} it (${owner})`,
    {
      fix: throughGroup
        ? 'make the node open to others (a udev rule with MODE="0666"), or ask for less with PERMS (e.g. :r)'
        : 'ask the machine administrator for access to the device, or ask for less with PERMS (e.g. :r)',
    },
  );
}

const isDevice = (st: Stats) => st.isCharacterDevice() || st.isBlockDevice();

/**
 * A folder's device nodes, at the same places below the container path (docker's --device /dev/snd): links are
 * not followed, and a node the container could not open is left out, as docker leaves out what is no device.
 */
function folderDevices(device: DeviceMapping): DeviceMapping[] {
  const found: DeviceMapping[] = [];
  const walk = (rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(device.PathOnHost, rel), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') return; // a folder the caller may not list holds nothing it could give
      throw error;
    }
    for (const entry of entries) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
        const node = { ...device, PathOnHost: join(device.PathOnHost, path), PathInContainer: join(device.PathInContainer, path) };
        const checked = checkNode(node, statSync(node.PathOnHost));
        if (!(checked instanceof DevboxError)) found.push(checked);
      }
    }
  };
  walk('');
  if (!found.length)
    throw new DevboxError(`--device ${device.PathOnHost}: no device node in this folder that the container could open`, {
      fix: 'name a folder of device nodes open to you (ls -lR), or the node itself',
      kind: 'usage',
    });
  return found;
}

/**
 * Checks the host node of each --device: it exists, is a character or block device (or a folder of them), and
 * the container can open it as asked.
 */
export function resolveDevices(specs: readonly string[]): DeviceMapping[] {
  return specs.flatMap((spec) => {
    const device = parseDevice(spec);
    const path = device.PathOnHost;
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      throw new DevboxError(`--device ${path}: no such device on this machine`, { fix: 'name a device node that exists: ls -l /dev', kind: 'usage' });
    }
    if (st.isDirectory()) return folderDevices(device);
    if (!isDevice(st)) throw new DevboxError(`--device ${path}: not a device node`, { fix: 'bind files with -v instead', kind: 'usage' });
    const checked = checkNode(device, st);
    if (checked instanceof DevboxError) throw checked;
    return [checked];
  });
}

/** The binds that put the devices in the container's /dev (after the helper has made /dev). */
export function deviceBinds(devices: readonly DeviceMapping[] | undefined): BindMount[] {
  return (devices ?? []).map((d) => ({ source: d.PathOnHost, destination: d.PathInContainer, readonly: false }));
}
