/** Files shipped beside dist/ (package.json "files"): the devbox.json schema and the templates. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { JsonSchema } from './schema-validate.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../../../schema/devbox.schema.json', import.meta.url));
export const TEMPLATES_DIR = fileURLToPath(new URL('../../../templates', import.meta.url));

let schema: JsonSchema | undefined;

export function devboxSchema(): JsonSchema {
  schema ??= JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as JsonSchema;
  return schema;
}
