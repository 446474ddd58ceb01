/**
 * Images shaped like the Dev Containers ones, made locally: busybox with every applet, an account "vscode"
 * (uid 1000) with a home of its own, and the `devcontainer.metadata` label the official images carry. No PATH
 * in the config unless given, as an image made with `docker import` has none.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { devboxOk, type CliOptions } from './cli.js';
import { busyboxRootfs, testDir, writeDockerArchive, type TarEntry } from './images.js';

const BUSYBOX = '/bin/busybox';

/** busybox's root file system with a link for every applet it has, and a `vscode` account. */
export function devcontainerRootfs(extra: readonly TarEntry[] = []): TarEntry[] {
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).trim().split('\n');
  const base = busyboxRootfs().filter((e) => !(e.name.startsWith('bin/') && e.name !== 'bin/busybox') && e.name !== 'etc/passwd' && e.name !== 'etc/group');
  return [
    ...base,
    ...applets.filter((a) => a !== 'busybox').map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nvscode:x:1000:1000:VS Code:/home/vscode:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\nvscode:x:1000:\nnvm:x:1001:vscode\n' },
    { name: 'home/vscode', type: 'directory', uid: 1000, gid: 1000 },
    { name: 'home/vscode/.profile', content: 'export FROM_PROFILE=yes\n', uid: 1000, gid: 1000 },
    ...extra,
  ];
}

export interface DevcontainerImage {
  /** devcontainer.metadata entries. */
  metadata?: unknown[];
  /** Other image config fields (Env, Cmd, User, …). */
  config?: Record<string, unknown>;
  /** Files added on top. */
  files?: TarEntry[];
}

/** A docker-archive of such an image, at a new path in the suite's temp folder. */
export async function devcontainerArchive(name: string, image: DevcontainerImage = {}): Promise<string> {
  const path = join(await testDir('dc-image'), 'image.tar');
  const labels = image.metadata ? { 'devcontainer.metadata': JSON.stringify(image.metadata) } : {};
  await writeDockerArchive(path, name, [devcontainerRootfs(image.files)], { ...image.config, Labels: { ...labels, ...(image.config?.Labels as object) } });
  return path;
}

/** Loads such an image into devbox's store as `name`. */
export async function loadDevcontainerImage(name: string, image: DevcontainerImage = {}, options: CliOptions = {}): Promise<void> {
  await devboxOk(['image', 'load', '-i', await devcontainerArchive(name, image)], options);
}

/** Polls until `read` gives a value (a file an asynchronous command writes), failing after `ms`. */
export async function eventually<T>(read: () => T | undefined | Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const value = await read();
    if (value !== undefined) return value;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A file's content once it exists (and is not empty). */
export function fileContent(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  return text === '' ? undefined : text;
}

/** The project sandbox folders of the store whose state names `root`. */
export function sandboxFolder(storeRoot: string, root: string): string {
  const folder = join(storeRoot, 'sandboxes');
  for (const name of readdirSync(folder)) {
    const state = fileContent(join(folder, name, 'state.json'));
    if (state && JSON.parse(state).project === root) return join(folder, name);
  }
  throw new Error(`no sandbox for ${root}`);
}
