/**
 * Finding a project's config from any folder inside it, by walking up as git does. In each folder,
 * devbox.json wins over a Dev Containers config; the nearest folder with any of them is the project.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ConfigFormat } from './project-config.js';

export interface ConfigLocation {
  format: ConfigFormat;
  /** Absolute path of the config file. */
  path: string;
  /** The project root: the folder holding devbox.json, .devcontainer/ or .devcontainer.json. */
  root: string;
}

/** Looked for in each folder, in this order (the second and third as the Dev Containers spec places them). */
export const CONFIG_NAMES: readonly { name: string; format: ConfigFormat }[] = [
  { name: 'devbox.json', format: 'devbox.json' },
  { name: join('.devcontainer', 'devcontainer.json'), format: 'devcontainer.json' },
  { name: '.devcontainer.json', format: 'devcontainer.json' },
];

/** devbox.lock (lock-file.ts) sits at the project root; the inputs hash reads it on every entry. */
export const LOCK_FILE = 'devbox.lock';

export function lockPath(root: string): string {
  return join(root, LOCK_FILE);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The paths findProjectConfig(start) looked at and found no config in before it found `configPath`: their absence chose it. */
export function passedOver(start: string, configPath: string): string[] {
  const paths: string[] = [];
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    for (const { name } of CONFIG_NAMES) {
      const path = join(dir, name);
      if (path === configPath) return paths;
      paths.push(path);
    }
    if (dirname(dir) === dir) return paths;
  }
}

export function findProjectConfig(start: string): ConfigLocation | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    for (const { name, format } of CONFIG_NAMES) {
      const path = join(dir, name);
      if (isFile(path)) return { format, path, root: dir };
    }
    if (dirname(dir) === dir) return undefined;
  }
}
