/**
 * Project templates (templates/NAME/Dockerfile and devbox.json, and any file a service builds from) and `devbox init`, which copies one into a
 * project with the schema its devbox.json points at.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { DEFAULT_DOCKERFILE } from './devbox-json.js';
import { writeFilesAtomically } from './write-files.js';
import { SCHEMA_PATH, TEMPLATES_DIR } from './package-files.js';

export interface TemplateInfo {
  name: string;
  /** The first line of the Dockerfile's header comment. */
  description: string;
}

export const DEFAULT_TEMPLATE = 'base';
/** Where init puts the schema copy that devbox.json's "$schema" names: editors find it offline. */
const SCHEMA_COPY = '.devbox/devbox.schema.json';

function describeTemplate(dir: string): string {
  const header = readFileSync(join(dir, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((line) => line.startsWith('# '));
  return header?.slice(2).trim() ?? '';
}

/** The templates, base first, then by name. */
export function listTemplates(templatesDir = TEMPLATES_DIR): TemplateInfo[] {
  return readdirSync(templatesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(templatesDir, entry.name, 'Dockerfile')))
    .map((entry) => ({ name: entry.name, description: describeTemplate(join(templatesDir, entry.name)) }))
    .sort((a, b) => (a.name === DEFAULT_TEMPLATE ? -1 : b.name === DEFAULT_TEMPLATE ? 1 : a.name.localeCompare(b.name)));
}

export interface InitOptions {
  template?: string;
  /** Overwrite devbox.json and the Dockerfile if they exist. */
  force?: boolean;
  templatesDir?: string;
}

/** Writes devbox.json, .devbox/Dockerfile (and the template's other files beside it) and the schema copy into `root`; returns the paths written. */
export async function initProject(root: string, options: InitOptions = {}): Promise<string[]> {
  const templatesDir = options.templatesDir ?? TEMPLATES_DIR;
  const name = options.template ?? DEFAULT_TEMPLATE;
  const templates = listTemplates(templatesDir);
  const template = templates.find((t) => t.name === name);
  if (!template) {
    throw new DevboxError(`unknown template "${name}"`, { fix: `choose one of: ${templates.map((t) => t.name).join(', ')}` });
  }
  const dir = join(templatesDir, template.name);
  // A template's other files (a service's Dockerfile) go beside its Dockerfile, where its devbox.json names them.
  const extra = readdirSync(dir).filter((name) => name !== 'devbox.json' && name !== 'Dockerfile');
  const own: [string, string | Buffer][] = [
    [join(root, 'devbox.json'), readFileSync(join(dir, 'devbox.json'))],
    [join(root, DEFAULT_DOCKERFILE), readFileSync(join(dir, 'Dockerfile'))],
    ...extra.map((name): [string, Buffer] => [join(root, dirname(DEFAULT_DOCKERFILE), name), readFileSync(join(dir, name))]),
  ];
  const files: [string, string | Buffer][] = [...own, [join(root, SCHEMA_COPY), readFileSync(SCHEMA_PATH)]];
  // The schema copy is devbox's own file, refreshed freely; the others are the user's once written.
  const existing = own.filter(([path]) => existsSync(path)).map(([path]) => path);
  if (existing.length > 0 && !options.force) {
    throw new DevboxError(`${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; nothing written`, {
      fix: 'devbox init --force overwrites them',
    });
  }
  await writeFilesAtomically(files);
  return files.map(([path]) => path);
}
