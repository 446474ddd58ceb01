/**
 * Steps both config formats share: schema check, env, mounts, ports and lifecycle commands into their
 * ProjectConfig shapes, with every error pointing at file:line:col of the entry at fault.
 */
import { statSync } from 'node:fs';
import type { JSONPath } from 'jsonc-parser';
import { DevboxError } from '../util/errors.js';
import { errorAt, type ConfigFile } from './config-file.js';
import { MountSpecError, parseMountObject, parseMountString, type MountContext, type MountObject, type MountSpec } from '../volume/mount-spec.js';
import { parsePort, type Parsed } from './ports.js';
import type { LifecycleCommand, LifecycleStep, PortMapping } from './project-config.js';
import { validateAgainstSchema, type JsonSchema } from './schema-validate.js';
import type { LifecycleValue } from './devcontainer/metadata.js';

/** The file's top-level object, checked against the schema. */
export function checkedObject(file: ConfigFile, schema: JsonSchema): Record<string, unknown> {
  if (file.value === undefined) throw new DevboxError(`${file.path}: the file is empty`, { fix: 'write a JSON object, e.g. {}' });
  const violation = validateAgainstSchema(file.value, schema);
  if (violation) throw errorAt(file, violation.path, violation.message, violation.fix, violation.atKey);
  return file.value as Record<string, unknown>;
}

function unwrap<T>(file: ConfigFile, path: JSONPath, parsed: Parsed<T>): T {
  if (!parsed.ok) throw errorAt(file, path, parsed.reason);
  return parsed.value;
}

export function normalizeEnv(file: ConfigFile, key: string, env: Record<string, string | null> | undefined): Record<string, string | null> {
  for (const name of Object.keys(env ?? {})) {
    if (name === '' || name.includes('=')) throw errorAt(file, [key, name], 'is not a valid variable name (it may not be empty or contain "=")');
  }
  return { ...env };
}

/**
 * One mount of a project (devbox.json, devcontainer.json's mounts, workspaceMount and runArgs, an image's or a
 * Feature's metadata), by the parser `devbox run` uses. A project has no use for an anonymous volume: nothing
 * would ever remove it.
 */
export function projectMount(mount: string | MountObject, context: MountContext, parse = parseMountString): Parsed<MountSpec> {
  let spec: MountSpec;
  try {
    spec = typeof mount === 'string' ? parse(mount, context) : parseMountObject(mount, context);
  } catch (error) {
    if (error instanceof MountSpecError) return { ok: false, reason: error.reason };
    throw error;
  }
  if (spec.type === 'volume' && spec.source === undefined) return { ok: false, reason: 'needs a source: name the volume (NAME:PATH), or give a host path' };
  return { ok: true, value: spec };
}

export function normalizeMounts(file: ConfigFile, key: string, mounts: (string | MountObject)[] | undefined, context: MountContext): MountSpec[] {
  return (mounts ?? []).map((mount, index) => unwrap(file, [key, index], projectMount(mount, context)));
}

export function normalizePorts(file: ConfigFile, key: string, ports: (string | number)[] | undefined): PortMapping[] {
  return (ports ?? []).map((port, index) => unwrap(file, [key, index], parsePort(port)));
}

function lifecycleStep(value: string | string[]): LifecycleStep {
  return typeof value === 'string' ? { kind: 'shell', command: value } : { kind: 'exec', argv: value };
}

/** The three forms of a Dev Containers lifecycle command (the schema has checked the shape). */
export function lifecycleCommand(value: LifecycleValue): LifecycleCommand {
  if (typeof value === 'string' || Array.isArray(value)) return lifecycleStep(value);
  return { kind: 'parallel', steps: Object.fromEntries(Object.entries(value).map(([name, step]) => [name, lifecycleStep(step)])) };
}

/** Why a path cannot be used as a file or folder ("does not exist"), or undefined when it can. */
export function pathProblem(absolute: string, kind: 'file' | 'directory'): string | undefined {
  try {
    const stats = statSync(absolute);
    if (kind === 'file' ? stats.isFile() : stats.isDirectory()) return undefined;
    return `is not a ${kind === 'file' ? 'file' : 'folder'}`;
  } catch {
    return 'does not exist';
  }
}

export function requirePath(file: ConfigFile, path: JSONPath, absolute: string, kind: 'file' | 'directory', fix: string): void {
  const problem = pathProblem(absolute, kind);
  if (problem) throw errorAt(file, path, `names ${absolute}, which ${problem}`, fix);
}
