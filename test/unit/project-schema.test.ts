import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devboxSchema } from '../../src/project/package-files.js';

const DOCS = readFileSync(fileURLToPath(new URL('../../../docs/project-config.md', import.meta.url)), 'utf8');

test('docs/project-config.md has a table row for every key of the schema, nested build keys included', () => {
  const schema = devboxSchema();
  const keys = Object.entries(schema.properties ?? {}).flatMap(([key, value]) => [
    key,
    ...Object.keys(value.properties ?? {}).map((inner) => `${key}.${inner}`),
  ]);
  assert.ok(keys.includes('build.dockerfile'));
  for (const key of keys) assert.match(DOCS, new RegExp(`^\\| \`${key.replace(/[$.]/g, '\\$&')}\` \\|`, 'm'), key);
});

test('every property of the schema has a description for editors to show', () => {
  const schema = devboxSchema();
  for (const [key, value] of Object.entries(schema.properties ?? {})) {
    assert.ok(value.description && value.description.length > 10, key);
    for (const [inner, innerValue] of Object.entries(value.properties ?? {})) assert.ok(innerValue.description, `${key}.${inner}`);
  }
});

test.run();
