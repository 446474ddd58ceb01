/**
 * `devbox run IMAGE [CMD…]`: resolve the image, assemble its root file system with the chosen backend,
 * describe the sandbox and hand it to the native helper, which runs it in the foreground.
 * This is the hot path of devbox: it loads no oclif, execa or tar code unless a layer must be unpacked.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseGroup, parsePasswd, readImageFile, resolveUser } from '../image/passwd.js';
import { ImageStore } from '../image/store.js';
import { hostResolvConf, networkHostsEntries, slirpResolvConf } from '../network/dns.js';
import { resolveNetworkOptions } from '../network/options.js';
import { attachSandboxNetwork, prepareSlirp4netns, type SandboxNetwork } from '../network/sandbox-network.js';
import { ensureImage } from '../registry/ensure.js';
import type { PullPolicy } from '../registry/ensure.js';
import type { BindMount, SandboxSpec } from '../runtime/spec.js';
import { launchSandbox } from '../runtime/launch.js';
import type { SecuritySpec } from '../runtime/security.js';
import { readSettings, type StorageSetting } from '../settings/settings.js';
import { selectDriver } from '../storage/driver.js';
import { hostIdFor, resolveIdMapping, type IdMapping } from '../userns/idmap.js';
import { removeAsNamespaceRoot } from '../userns/remove.js';
import { DevboxError, describeError } from '../util/errors.js';
import { containerArgs, containerEnv, containerWorkdir, type ProcessRequest } from './container-process.js';
import { createContainerDir, nameFileMounts, writeNameFiles, writePorts, writeState } from './containers.js';
import { assembleRootfs } from './rootfs.js';
import { parseVolume } from './volumes.js';
import { warn } from '../util/warn.js';

/** `devbox run`'s options, as src/cli/run-options.ts parses them. */
export interface RunOptions {
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  volumes: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  /** As given; resolved against the settings by network/options.ts. */
  network?: string;
  publish: string[];
  storage?: StorageSetting;
  pull: PullPolicy;
  platform?: string;
  /** Capabilities, seccomp, masked paths: resolved and checked while the options are parsed. */
  security: SecuritySpec;
  image: string;
  command: string[];
}

function checkMapped(mapping: IdMapping, uid: number, gid: number): void {
  if (hostIdFor(mapping.uidMap, uid) !== undefined && hostIdFor(mapping.gidMap, gid) !== undefined) return;
  throw new DevboxError(`user ${uid}:${gid} is not mapped into the user namespace`, {
    fix: mapping.full
      ? 'give this user a larger range in /etc/subuid and /etc/subgid'
      : 'add a range for this user to /etc/subuid and /etc/subgid (see "devbox doctor")',
  });
}

export async function runImage(options: RunOptions): Promise<number> {
  const settings = readSettings();
  const network = resolveNetworkOptions(options, settings);
  const store = ImageStore.open(settings.storageRoot);
  const { mapping, warning } = resolveIdMapping();
  if (warning) warn(`${warning}`);
  const mounts: BindMount[] = options.volumes.map(parseVolume);
  const image = await ensureImage(store, options.image, { pull: options.pull, platform: options.platform });
  const lowerDirs = await store.layerDirs(image, mapping);
  const driver = await selectDriver(options.storage ?? settings.storage, store.root, mapping);
  const config = image.config.config ?? {};
  const slirp = network.mode === 'slirp4netns' ? await prepareSlirp4netns(join(store.root, 'slirp4netns.json'), 'run with --network host') : undefined;

  const container = createContainerDir(store.root);
  const hostname = options.hostname ?? container.id.slice(0, 12);
  const request: ProcessRequest = {
    command: options.command,
    entrypoint: options.entrypoint,
    env: options.env,
    workdir: options.workdir,
    tty: options.tty,
    hostname,
  };
  const user = resolveUser(
    options.user || config.User || 'root',
    parsePasswd(readImageFile(lowerDirs, 'etc/passwd')),
    parseGroup(readImageFile(lowerDirs, 'etc/group')),
  );
  checkMapped(mapping, user.uid, user.gid);
  const names = writeNameFiles(container, hostname, networkHostsEntries(network, hostname), slirp ? slirpResolvConf(hostResolvConf()) : undefined);
  const spec: SandboxSpec = {
    idMapping: mapping,
    rootfs: await assembleRootfs(driver, mapping, lowerDirs, container.dir),
    mounts: [...nameFileMounts(names), ...mounts],
    hostname,
    network: network.mode,
    process: {
      args: containerArgs(config, request),
      env: containerEnv(config, request, user.home, process.env),
      cwd: containerWorkdir(config, request),
      uid: user.uid,
      gid: user.gid,
      groups: user.groups,
      terminal: options.tty,
    },
    // A private copy is the sandbox's root, with /proc, /dev and the binds mounted inside it: it can only be
    // removed once the sandbox's mount namespace is gone, from outside.
    removeAfterExit: options.rm && driver !== 'copy' ? container.dir : undefined,
    security: options.security,
  };
  // devbox's own pid marks the container live: it waits for the sandbox for as long as it runs.
  const state = { id: container.id, image: image.id, pid: process.pid, created: new Date().toISOString() };
  writeState(container, state);
  let attached: SandboxNetwork | undefined;
  const onForwardError = (error: unknown) => warn(`port auto-forward stopped: ${describeError(error)}`);
  let exitCode: number;
  try {
    exitCode = await launchSandbox(spec, {
      stdin: options.interactive ? 'inherit' : 'ignore',
      beforeStart:
        slirp &&
        (async (sandbox) => {
          attached = await attachSandboxNetwork(slirp, sandbox, network, container.dir, (forwards) => writePorts(container.dir, forwards), onForwardError);
        }),
    });
  } catch (error) {
    // The sandbox never started (its network could not be set up): nothing of it may stay.
    if (driver === 'copy') await removeAsNamespaceRoot(mapping, [container.dir]);
    else rmSync(container.dir, { recursive: true, force: true });
    throw error;
  }
  await attached?.close();
  if (!options.rm) writeState(container, { ...state, exitCode });
  else if (driver === 'copy') await removeAsNamespaceRoot(mapping, [container.dir]);
  return exitCode;
}
