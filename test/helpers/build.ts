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
