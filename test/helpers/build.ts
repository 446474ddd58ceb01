/** Build contexts written from a description, and the entries of an image's layers as saved. */
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { ImageSuite } from './image-suite.js';

export type ContextFile = string | { content: string; mode?: number } | { symlink: string } | { dir: true; mode?: number };

/** Writes `files` (path → content, or a symlink/dir) into a new context directory of the suite. */
export async function writeContext(suite: ImageSuite, files: Record<string, ContextFile>): Promise<string> {
  const dir = await suite.tempDir('context');
  for (const [name, file] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof file === 'string') writeFileSync(path, file);
    else if ('symlink' in file) symlinkSync(file.symlink, path);
    else if ('dir' in file) {
      mkdirSync(path, { recursive: true });
      if (file.mode !== undefined) chmodSync(path, file.mode);
    } else {
      writeFileSync(path, file.content);
      if (file.mode !== undefined) chmodSync(path, file.mode);
    }
  }
  return dir;
}

export interface LayerEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname?: string;
}

async function tarEntries(data: Buffer): Promise<{ header: tar.Header; body: Buffer }[]> {
  const extract = tar.extract();
  Readable.from([data]).pipe(extract);
  const out: { header: tar.Header; body: Buffer }[] = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out.push({ header: entry.header, body: Buffer.concat(chunks) });
  }
  return out;
}

/** Each layer's entries (from `devbox image save`), bottom layer first. */
export async function savedLayers(suite: ImageSuite, image: string): Promise<LayerEntry[][]> {
  const path = join(await suite.tempDir('save'), 'image.tar');
  await suite.devboxOk(['image', 'save', '-o', path, image]);
  const members = new Map((await tarEntries(readFileSync(path))).map((m) => [m.header.name, m.body]));
  const manifest = JSON.parse(members.get('manifest.json')!.toString()) as { Layers: string[] }[];
  const layers: LayerEntry[][] = [];
  for (const name of manifest[0].Layers) {
    layers.push(
      (await tarEntries(members.get(name)!)).map(({ header: h }) => ({
        name: h.name.replace(/\/$/, ''),
        type: h.type,
        mode: h.mode & 0o7777,
        uid: h.uid,
        gid: h.gid,
        size: h.size,
        ...(h.linkname ? { linkname: h.linkname } : {}),
      })),
    );
  }
  return layers;
}

/** A file system entry as the differential tests compare it: everything but times. */
export interface TreeEntry extends Omit<LayerEntry, 'name'> {
  sha256?: string;
}

function cleanName(name: string): string {
  return name.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
}

/**
 * The image config and root file system of a docker-archive's first image: its layers applied in order
 * with OCI whiteout rules, hard links resolved to what they point at (which of two links is "the file" is
 * arbitrary).
 */
export async function flattenArchive(archive: Buffer): Promise<{ config: Record<string, unknown>; tree: Map<string, TreeEntry> }> {
  const { createHash } = await import('node:crypto');
  const members = new Map((await tarEntries(archive)).map((m) => [cleanName(m.header.name), m.body]));
  const manifest = JSON.parse(members.get('manifest.json')!.toString()) as { Config: string; Layers: string[] }[];
  const config = (JSON.parse(members.get(cleanName(manifest[0].Config))!.toString()) as { config?: Record<string, unknown> }).config ?? {};
  const tree = new Map<string, TreeEntry>();
  const removeTree = (path: string, keepSelf: boolean) => {
    for (const key of [...tree.keys()]) if (key.startsWith(`${path}/`) || (!keepSelf && key === path)) tree.delete(key);
  };
  for (const layerName of manifest[0].Layers) {
    let data = members.get(cleanName(layerName))!;
    if (data[0] === 0x1f && data[1] === 0x8b) data = (await import('node:zlib')).gunzipSync(data);
    const entries = await tarEntries(data);
    for (const { header } of entries) {
      const name = cleanName(header.name);
      const base = name.slice(name.lastIndexOf('/') + 1);
      if (base === '.wh..wh..opq') removeTree(name.slice(0, Math.max(0, name.lastIndexOf('/'))), true);
    }
    for (const { header, body } of entries) {
      const name = cleanName(header.name);
      if (!name) continue;
      const slash = name.lastIndexOf('/');
      const base = name.slice(slash + 1);
      if (base === '.wh..wh..opq') continue;
      if (base.startsWith('.wh.')) {
        removeTree(`${slash < 0 ? '' : `${name.slice(0, slash)}/`}${base.slice(4)}`, false);
        continue;
      }
      if (header.type === 'link') {
        const target = tree.get(cleanName(header.linkname ?? ''));
        if (target) tree.set(name, { ...target });
        continue;
      }
      const existing = tree.get(name);
      if (existing && existing.type === 'directory' && header.type !== 'directory') removeTree(name, true);
      tree.set(name, {
        type: header.type,
        mode: header.mode & 0o7777,
        uid: header.uid,
        gid: header.gid,
        size: header.type === 'file' ? header.size : 0,
        ...(header.type === 'symlink' ? { linkname: header.linkname } : {}),
        ...(header.type === 'file' ? { sha256: createHash('sha256').update(body).digest('hex') } : {}),
      });
    }
  }
  return { config, tree };
}

/** Differences between two trees, one line each. */
export function treeDifferences(ours: Map<string, TreeEntry>, theirs: Map<string, TreeEntry>): string[] {
  const out: string[] = [];
  for (const path of [...new Set([...ours.keys(), ...theirs.keys()])].sort()) {
    const a = ours.get(path);
    const b = theirs.get(path);
    if (!a) out.push(`/${path}: only in podman's image (${JSON.stringify(b)})`);
    else if (!b) out.push(`/${path}: only in devbox's image (${JSON.stringify(a)})`);
    else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`/${path}: devbox ${JSON.stringify(a)} podman ${JSON.stringify(b)}`);
  }
  return out;
}
