/** Project folders made from scratch for the project-config tests. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A fresh folder with `files` (path → content) written into it; returns its absolute path. */
export function projectDir(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(process.env.DEVBOX_TEST_TMP ?? tmpdir(), 'project-'));
  writeFiles(root, files);
  return root;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

export const DOCKERFILE = 'FROM debian:bookworm-slim\n';
