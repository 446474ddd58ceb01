/** Test images made from scratch: tars written with tar-stream, a busybox root file system from busybox-static. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { encodePaxRecords, paxHeaderEntry } from '../../src/image/pax.js';
import { devboxOk } from './cli.js';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device';
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  pax?: Record<string, string>;
  /** Extended attributes as bytes, in a PAX header of their own (tar-stream's pax would write them as UTF-8). */
  xattrs?: Record<string, Buffer>;
}

export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => chunks.push(c as Buffer));
  const done = new Promise<Buffer>((resolve, reject) => {
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const mode = e.mode ?? (type === 'directory' ? 0o755 : 0o644);
    const header = { name: e.name, type, mode, uid: e.uid ?? 0, gid: e.gid ?? 0, linkname: e.linkname, pax: e.pax, mtime: new Date(1700000000000) };
    if (e.xattrs) {
      const records = Object.entries(e.xattrs).map(([k, v]): [string, Buffer] => [`SCHILY.xattr.${k}`, v]);
      pack.push(paxHeaderEntry(encodePaxRecords([['path', Buffer.from(e.name)], ...records]), header.mtime)); // between entries
    }
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, type === 'file' ? Buffer.from(e.content ?? '') : '', (error) => (error ? reject(error) : resolve())),
    );
  }
  pack.finalize();
  return done;
}

export async function writeTar(path: string, entries: readonly TarEntry[]): Promise<void> {
  await writeFile(path, await packTar(entries));
}

const BUSYBOX = '/bin/busybox';
const APPLETS = [
  'sh',
  'ls',
  'id',
  'cat',
  'echo',
  'true',
  'false',
  'sleep',
  'ps',
  'kill',
  'touch',
  'stat',
  'tty',
  'stty',
  'mkdir',
  'rm',
  'env',
  'pwd',
  'hostname',
  'grep',
  'wc',
  'test',
  'readlink',
  'mount',
];

/** A minimal root file system: busybox with its applets, /etc/passwd and /etc/group with a user "alice". */
export function busyboxRootfs(): TarEntry[] {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  return [
    ...['bin', 'etc', 'tmp', 'root', 'home', 'home/alice', 'proc', 'dev', 'sys'].map(
      (name): TarEntry => ({ name, type: 'directory', mode: name === 'tmp' ? 0o1777 : 0o755 }),
    ),
    { name: 'bin/busybox', content: readFileSync(BUSYBOX), mode: 0o755 },
    ...APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' })),
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\nalice:x:1000:\nwheel:x:10:alice\n' },
  ];
}

let counter = 0;

/** A fresh directory under the suite's temp dir. */
export function testDir(prefix = 'case'): Promise<string> {
  const base = process.env.DEVBOX_TEST_TMP;
  if (!base) throw new Error('DEVBOX_TEST_TMP is not set: run the suites through test/run-suites.sh');
  return mkdtemp(join(base, `${prefix}-${counter++}-`));
}

/** Imports the busybox root file system as `name` and returns its name. */
export async function importBusybox(name = 'busybox:latest'): Promise<string> {
  const dir = await testDir('busybox');
  const path = join(dir, 'rootfs.tar');
  await writeTar(path, busyboxRootfs());
  await devboxOk(['image', 'import', path, name]);
  return name;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/**
 * A docker-archive (the `docker save` format) with one layer per entry list, so tests can stack layers
 * with whiteouts the way an image built in several steps has them.
 */
export async function writeDockerArchive(
  path: string,
  repoTags: string | string[],
  layers: readonly TarEntry[][],
  config: Record<string, unknown> = {},
): Promise<void> {
  const layerTars = await Promise.all(layers.map((l) => packTar(l)));
  const diffIDs = layerTars.map((t) => `sha256:${sha256(t)}`);
  const configJson = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: diffIDs },
    history: layerTars.map(() => ({ created_by: 'test layer' })),
  });
  const configName = `${sha256(configJson)}.json`;
  const layerNames = layerTars.map((t) => `${sha256(t)}/layer.tar`);
  const manifest = JSON.stringify([{ Config: configName, RepoTags: [repoTags].flat(), Layers: layerNames }]);
  await writeTar(path, [
    { name: configName, content: configJson },
    ...layerTars.map((t, i): TarEntry => ({ name: layerNames[i], content: t })),
    { name: 'manifest.json', content: manifest },
  ]);
}

/**
 * A Debian minbase root file system tar: DEVBOX_MINBASE_TAR when set, else made once per test run with
 * mmdebstrap (~15 s, from Debian's mirrors) and kept in the suites' temp dir.
 */
export function minbaseTar(): string {
  if (process.env.DEVBOX_MINBASE_TAR) return process.env.DEVBOX_MINBASE_TAR;
  const base = process.env.DEVBOX_TEST_TMP;
  if (!base) throw new Error('DEVBOX_TEST_TMP is not set: run the suites through test/run-suites.sh');
  const path = join(base, 'minbase.tar');
  const partial = join(base, 'minbase.partial.tar');
  if (!existsSync(path)) {
    try {
      // mmdebstrap picks the output format from the name: it must end in .tar.
      execFileSync('mmdebstrap', ['--quiet', '--variant=minbase', 'bookworm', partial], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      throw new Error(
        `mmdebstrap could not make a Debian minbase (apt-get install mmdebstrap; or set DEVBOX_MINBASE_TAR): ${(error as { stderr?: Buffer }).stderr ?? error}`,
      );
    }
    renameSync(partial, path);
  }
  return path;
}
