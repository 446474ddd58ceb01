/**
 * Checks a JSONC syntax tree against the subset of JSON Schema our schemas use, and reports the first
 * violation with the node it is about (so the message can say file:line:col) and what was expected.
 *
 * Hand-written rather than ajv: ajv takes 45–75 ms to load and compile here, which every `devbox shell`
 * would pay, and its messages ("must be equal to one of the allowed values") name neither the values nor
 * the position. The schema file stays the single source of truth, for editors and for this check.
 */
import type { JSONPath, Node } from 'jsonc-parser';

export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  type?: SchemaType | SchemaType[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  pattern?: string;
  /** VS Code's extension keyword: the words shown when `pattern` does not match. */
  patternErrorMessage?: string;
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
  description?: string;
  markdownDescription?: string;
  default?: unknown;
}

type SchemaType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

export interface SchemaViolation {
  /** JSON path of the offending value (or of the unknown key). */
  path: JSONPath;
  /** The node to point at. */
  node: Node;
  /** What is wrong, without the key: `must be one of "host", "none"`. */
  message: string;
  fix?: string;
}

/** The first violation in document order, or undefined when the tree conforms. */
export function validateAgainstSchema(tree: Node, schema: JsonSchema): SchemaViolation | undefined {
  return check(tree, schema, [], schema);
}

function resolve(schema: JsonSchema, root: JsonSchema): JsonSchema {
  if (!schema.$ref) return schema;
  const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
  const target = name === undefined ? undefined : root.$defs?.[name];
  if (!target) throw new Error(`schema: unresolved $ref ${schema.$ref}`);
  return resolve(target, root);
}

function nodeType(node: Node): SchemaType {
  if (node.type === 'number') return Number.isInteger(node.value) ? 'integer' : 'number';
  return node.type as SchemaType;
}

function accepts(schema: JsonSchema, type: SchemaType, root: JsonSchema): boolean {
  const s = resolve(schema, root);
  if (s.anyOf) return s.anyOf.some((alternative) => accepts(alternative, type, root));
  if (s.type === undefined) return s.enum === undefined || s.enum.some((v) => jsonType(v) === type);
  const types = Array.isArray(s.type) ? s.type : [s.type];
  return types.includes(type) || (type === 'integer' && types.includes('number'));
}

function jsonType(value: unknown): SchemaType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as SchemaType;
}

const ARTICLE: Record<SchemaType, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function joinAlternatives(words: string[]): string {
  const unique = [...new Set(words)];
  return unique.length <= 1 ? (unique[0] ?? '') : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1)}`;
}

/** What a schema expects, in words: `one of "host", "none"`, `an integer from 1 to 65535`, `a string or an array of strings`. */
export function describeExpected(schema: JsonSchema, root: JsonSchema): string {
  const s = resolve(schema, root);
  if (s.enum) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (s.anyOf) return joinAlternatives(s.anyOf.map((alternative) => describeExpected(alternative, root)));
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  return joinAlternatives(
    types.map((type) => {
      if (type === 'string' && s.patternErrorMessage) return s.patternErrorMessage;
      if (type === 'string' && s.minLength) return 'a non-empty string';
      if ((type === 'integer' || type === 'number') && s.minimum !== undefined && s.maximum !== undefined) {
        return `${ARTICLE[type]} from ${s.minimum} to ${s.maximum}`;
      }
      if (type === 'array' && s.items) {
        const items = resolve(s.items, root);
        const itemWords = describeExpected(items, root).replace(/^an? /, '');
        if (items.type && !items.anyOf && !items.enum) return `${s.minItems ? 'a non-empty array' : 'an array'} of ${itemWords}s`;
      }
      if (type === 'object' && typeof s.additionalProperties === 'object' && !s.properties) {
        const values = resolve(s.additionalProperties, root);
        if (values.type && !values.anyOf) return `an object of ${describeExpected(values, root).replace(/^an? /, '')} values`;
      }
      return ARTICLE[type];
    }),
  );
}

function shortValue(node: Node): string {
  if (node.type === 'object') return 'an object';
  if (node.type === 'array') return 'an array';
  const text = JSON.stringify(node.value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** A fix line from the schema's first example: `e.g. "network": "host"`. */
function exampleFix(path: JSONPath, schema: JsonSchema, root: JsonSchema): string | undefined {
  const example = resolve(schema, root).examples?.[0];
  if (example === undefined) return undefined;
  const key = path.at(-1);
  return typeof key === 'string' ? `e.g. "${key}": ${JSON.stringify(example)}` : `e.g. ${JSON.stringify(example)}`;
}

/** Edit distance, to suggest the key a typo meant. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Suggests the key a typo meant, among the object's keys and those one level down ("dockerfile" → "build.dockerfile"). */
function unknownKeyFix(key: string, schema: JsonSchema, root: JsonSchema): string {
  const known = Object.keys(schema.properties ?? {});
  const candidates = known.flatMap((name) => [
    { name, compare: name },
    ...Object.keys(resolve(schema.properties![name], root).properties ?? {}).map((inner) => ({ name: `${name}.${inner}`, compare: inner })),
  ]);
  const scored = candidates
    .map((candidate) => ({ ...candidate, score: distance(key, candidate.compare) }))
    .filter((candidate) => candidate.score <= Math.max(2, Math.floor(candidate.compare.length / 3)))
    .sort((a, b) => a.score - b.score);
  return scored.length > 0 ? `did you mean "${scored[0].name}"?` : `known keys: ${known.join(', ')}`;
}

function mismatch(node: Node, path: JSONPath, schema: JsonSchema, root: JsonSchema): SchemaViolation {
  return { path, node, message: `must be ${describeExpected(schema, root)}, not ${shortValue(node)}`, fix: exampleFix(path, schema, root) };
}

function check(node: Node, schemaRef: JsonSchema, path: JSONPath, root: JsonSchema): SchemaViolation | undefined {
  const schema = resolve(schemaRef, root);
  const type = nodeType(node);

  if (schema.anyOf) {
    // Validate against the alternative(s) of the value's own type, so the error is about the right shape.
    const candidates = schema.anyOf.filter((alternative) => accepts(alternative, type, root));
    if (candidates.length === 0) return mismatch(node, path, schema, root);
    let first: SchemaViolation | undefined;
    for (const candidate of candidates) {
      const violation = check(node, candidate, path, root);
      if (!violation) return undefined;
      first ??= violation;
    }
    // The alternative's words are the precise ones; the example lives on the whole.
    if (first && !first.fix && first.path.length === path.length) first.fix = exampleFix(path, schema, root);
    return first;
  }

  if (!accepts(schema, type, root)) return mismatch(node, path, schema, root);
  if (schema.enum && !schema.enum.includes(node.value)) return mismatch(node, path, schema, root);

  if (node.type === 'string') {
    const text = node.value as string;
    if (schema.minLength !== undefined && text.length < schema.minLength) return mismatch(node, path, schema, root);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(text)) return mismatch(node, path, schema, root);
  }
  if (node.type === 'number') {
    const n = node.value as number;
    if ((schema.minimum !== undefined && n < schema.minimum) || (schema.maximum !== undefined && n > schema.maximum)) {
      return mismatch(node, path, schema, root);
    }
  }
  if (node.type === 'array') {
    const items = node.children ?? [];
    if (schema.minItems !== undefined && items.length < schema.minItems) {
      return { path, node, message: `must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`, fix: exampleFix(path, schema, root) };
    }
    if (schema.items) {
      for (const [index, item] of items.entries()) {
        const violation = check(item, schema.items, [...path, index], root);
        if (violation) return violation;
      }
    }
  }
  if (node.type === 'object') return checkObject(node, schema, path, root);
  return undefined;
}

function checkObject(node: Node, schema: JsonSchema, path: JSONPath, root: JsonSchema): SchemaViolation | undefined {
  const present = new Set<string>();
  for (const property of node.children ?? []) {
    const [keyNode, valueNode] = property.children ?? [];
    const key = keyNode.value as string;
    present.add(key);
    const propertySchema = schema.properties?.[key];
    if (propertySchema) {
      const violation = valueNode && check(valueNode, propertySchema, [...path, key], root);
      if (violation) return violation;
    } else if (schema.additionalProperties === false) {
      return { path: [...path, key], node: keyNode, message: 'is not a known key', fix: unknownKeyFix(key, schema, root) };
    } else if (typeof schema.additionalProperties === 'object' && valueNode) {
      const violation = check(valueNode, schema.additionalProperties, [...path, key], root);
      if (violation) return violation;
    }
  }
  const missing = schema.required?.find((key) => !present.has(key));
  if (missing) {
    return { path, node, message: `needs "${missing}"`, fix: exampleFix([missing], schema.properties?.[missing] ?? {}, root) };
  }
  return undefined;
}
