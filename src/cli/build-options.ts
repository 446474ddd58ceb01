/**
 * `devbox build` options: one table for the parser (option-table.ts, without oclif, so a no-op rebuild does
 * not pay for loading it) and for the help text of the oclif command (commands/build.ts).
 * Names and meanings are docker build's.
 */
import type { BuildOptions } from '../builder/builder.js';
import { cacheReference, type CacheTo } from '../builder/cache-manifest.js';
import type { DevboxError } from '../util/errors.js';
import type { ProgressMode } from '../util/progress.js';
import { hostArchitecture } from '../image/oci.js';
import { parsePlatform } from '../image/platform.js';
import { warn } from '../util/warn.js';
import { optionUsage, parseOptionTable, type OptionDef } from './option-table.js';

export const BUILD_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'tag', char: 't', kind: 'multiple', helpValue: 'NAME[:TAG]', description: 'Name the image (repeatable)' },
  { name: 'file', char: 'f', kind: 'string', helpValue: 'PATH', description: 'The Dockerfile (default: CONTEXT/Dockerfile, else CONTEXT/Containerfile)' },
  { name: 'build-arg', kind: 'multiple', helpValue: 'KEY=VALUE', description: 'Set a build argument (KEY alone: take it from the environment)' },
  { name: 'label', kind: 'multiple', helpValue: 'KEY=VALUE', description: 'Set a label on the image (repeatable)' },
  { name: 'target', kind: 'string', helpValue: 'STAGE', description: 'Build this stage (and only the stages it needs)' },
  { name: 'no-cache', kind: 'boolean', description: 'Run every step; do not reuse cached results' },
  {
    name: 'progress',
    kind: 'string',
    options: ['auto', 'plain', 'tty', 'quiet'],
    description: 'Progress output (auto: coloured on a terminal, plain otherwise)',
  },
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'Show nothing but the image id (--progress=quiet)' },
  { name: 'network', kind: 'string', options: ['default', 'host', 'none'], description: "Network for RUN steps: the host's (default) or none" },
  { name: 'platform', kind: 'string', helpValue: 'OS/ARCH[/VARIANT]', description: "Accepted for docker's sake: devbox builds for the host's platform" },
  {
    name: 'cache-from',
    kind: 'multiple',
    helpValue: 'type=registry,ref=REF',
    description: 'Take steps from a build cache in a registry, written by --cache-to (repeatable; a bare REF works too)',
  },
  {
    name: 'cache-to',
    kind: 'string',
    helpValue: 'type=registry,ref=REF[,mode=min|max]',
    description: "Write the build's steps to a build cache in a registry: the final image's (mode=min, the default) or every stage's (max)",
  },
];

/** What each cache option accepts besides type and ref (BuildKit's names; the values devbox writes anyway). */
const CACHE_ATTRIBUTES: Record<'cache-from' | 'cache-to', readonly string[]> = {
  'cache-from': ['type', 'ref'],
  'cache-to': ['type', 'ref', 'mode', 'image-manifest', 'oci-mediatypes', 'ignore-error'],
};

const usage = (message: string) => optionUsage('build', message);

/** `--platform`: checked, and a warning when it names another platform than the one devbox builds for. */
function checkPlatform(text: string | undefined): void {
  if (text === undefined) return;
  const host = `linux/${hostArchitecture()}`;
  const wanted = parsePlatform(text);
  if (`${wanted.os}/${wanted.architecture}` !== host) warn(`--platform=${text} ignored: devbox builds for ${host}`);
}

/** BuildKit's `KEY=VALUE,…` cache option; a bare REF (no `=`) is `type=registry,ref=REF`, as docker build takes it. */
function cacheOption(option: 'cache-from' | 'cache-to', text: string): Map<string, string> {
  if (!text.includes('='))
    return new Map([
      ['type', 'registry'],
      ['ref', text],
    ]);
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usage(`--${option}: "${part}" is not KEY=VALUE`);
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const type = fields.get('type') ?? 'registry';
  if (type !== 'registry') throw usage(`--${option}: type=${type} is not supported (devbox build supports type=registry)`);
  if (!fields.get('ref')) throw usage(`--${option} needs ref=REGISTRY/REPOSITORY:TAG`);
  try {
    cacheReference(fields.get('ref')!, option === 'cache-to');
  } catch (error) {
    throw usage(`--${option}: ${(error as DevboxError).message}`);
  }
  const allowed = CACHE_ATTRIBUTES[option];
  const unknown = [...fields.keys()].find((key) => !allowed.includes(key));
  if (unknown) throw usage(`--${option}: ${unknown} is not supported (devbox takes ${allowed.join(', ')})`);
  for (const key of ['image-manifest', 'oci-mediatypes']) {
    if (fields.has(key) && fields.get(key) !== 'true')
      throw usage(`--${option}: ${key}=${fields.get(key)}: devbox writes the cache as an OCI image manifest (${key}=true)`);
  }
  if (fields.has('ignore-error') && !['true', 'false'].includes(fields.get('ignore-error')!)) throw usage(`--${option}: ignore-error must be true or false`);
  return fields;
}

function cacheTo(text: string): CacheTo {
  const fields = cacheOption('cache-to', text);
  const mode = fields.get('mode') ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw usage(`--cache-to: mode=${mode}: use min or max`);
  return { ref: fields.get('ref')!, mode, ignoreError: fields.get('ignore-error') === 'true' };
}

export function parseBuildArgs(argv: readonly string[]): BuildOptions {
  const parsed = parseOptionTable('build', BUILD_OPTION_DEFS, argv);
  const values = parsed.values;
  if (parsed.positionals.length !== 1)
    throw usage(
      parsed.positionals.length
        ? `"devbox build" takes one CONTEXT, not ${parsed.positionals.length}`
        : '"devbox build" requires a CONTEXT directory (e.g. ".")',
    );
  checkPlatform(values.platform as string | undefined);
  const progress = values.quiet ? 'quiet' : ((values.progress as string | undefined) ?? 'auto');
  const network = (values.network as string | undefined) ?? 'default';
  const cacheFrom = ((values['cache-from'] as string[] | undefined) ?? []).map((text) => cacheOption('cache-from', text).get('ref')!);
  return {
    context: parsed.positionals[0],
    file: values.file as string | undefined,
    tags: (values.tag as string[] | undefined) ?? [],
    buildArgs: (values['build-arg'] as string[] | undefined) ?? [],
    labels: (values.label as string[] | undefined) ?? [],
    target: values.target as string | undefined,
    noCache: values['no-cache'] === true,
    progress: (progress === 'tty' ? 'auto' : progress) as ProgressMode,
    network: network === 'none' ? 'none' : 'host',
    ...(cacheFrom.length ? { cacheFrom } : {}),
    ...(values['cache-to'] === undefined ? {} : { cacheTo: cacheTo(values['cache-to'] as string) }),
  };
}
