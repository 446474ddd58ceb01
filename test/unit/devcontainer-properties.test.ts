/**
 * docs/project-config.md's table of devcontainer.json properties, kept true: it has one row for every property
 * of the spec's schema (test/fixtures/devcontainer-spec, vendored from devcontainers/spec) and none other, and
 * what it says agrees with the code: a property devbox supports (wholly or partly) is one it reads, and one it
 * does not support is named in the "devbox ignores" warning or refused.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { READ_BUILD_PROPERTIES, READ_PROPERTIES } from '../../src/project/devcontainer-json.js';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../../${path}`, import.meta.url)), 'utf8');

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  allOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  $ref?: string;
}

/** Every property the schema's definitions name, build's with the `build.` prefix. */
function specProperties(): Set<string> {
  const schema = JSON.parse(read('test/fixtures/devcontainer-spec/devContainer.base.schema.json')) as { definitions: Record<string, SchemaNode> };
  const names = new Set<string>();
  const visit = (node: SchemaNode, prefix: string) => {
    if (node.$ref) visit(schema.definitions[node.$ref.replace('#/definitions/', '')], prefix);
    for (const [name, property] of Object.entries(node.properties ?? {})) {
      if (name === '$schema' || name === 'additionalProperties') continue; // the file's own pointer; a schema keyword in the wrong place
      if (name === 'build' && !prefix)
        visit(property, 'build.'); // its properties have rows of their own
      else names.add(`${prefix}${name}`);
    }
    for (const part of [...(node.allOf ?? []), ...(node.oneOf ?? []), ...(node.anyOf ?? [])]) visit(part, prefix);
  };
  for (const name of ['devContainerCommon', 'nonComposeBase', 'imageContainer', 'dockerfileContainer', 'composeContainer']) visit(schema.definitions[name], '');
  return names;
}

/** The rows of the table: property → status. */
function documented(): Map<string, string> {
  const text = read('docs/project-config.md');
  const section = text.slice(text.indexOf('### Properties'), text.indexOf('## Templates'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [names, status] = line.split('|').slice(1, 3);
    for (const name of names.match(/`[^`]+`/g)!) rows.set(name.slice(1, -1), status.trim());
  }
  return rows;
}

/** Read by devbox, but refused when the sandbox starts (start-settings.ts says so). */
const REFUSED = new Set(['privileged']);

test("every property of the spec's schema has one row in docs/project-config.md, and no row names another", () => {
  const spec = [...specProperties()].sort();
  assert.ok(spec.length > 40, `the schema lists ${spec.length} properties`);
  assert.equal([...documented().keys()].sort(), spec);
});

test('the table agrees with the code: supported and partly are read, not is ignored with a word or refused', () => {
  for (const [property, status] of documented()) {
    assert.ok(['supported', 'partly', 'not'].includes(status), `${property}: "${status}"`);
    const reads = property.startsWith('build.') ? READ_BUILD_PROPERTIES.has(property.slice('build.'.length)) : READ_PROPERTIES.has(property);
    if (status === 'not') assert.ok(!reads || REFUSED.has(property), `${property} is documented as not supported, but devbox reads it`);
    else assert.ok(reads, `${property} is documented as ${status}, but devbox ignores it`);
  }
});

test.run();
