/**
 * `devbox build` options: one table for the parser (Node's util.parseArgs, which costs nothing to load, so
 * a no-op rebuild does not pay for oclif) and for the help text of the oclif command (commands/build.ts).
 * Names and meanings are docker build's.
 */
import { parseArgs } from 'node:util';
import type { BuildOptions } from '../builder/builder.js';
import type { ProgressMode } from '../util/progress.js';
import { hostArchitecture } from '../image/oci.js';
import { parsePlatform } from '../image/platform.js';
import { DevboxError } from '../util/errors.js';
import { warn } from '../util/warn.js';
import type { OptionDef } from './option-table.js';

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
];

/** `--platform`: checked, and a warning when it names another platform than the one devbox builds for. */
function checkPlatform(text: string | undefined): void {
  if (text === undefined) return;
  const host = `linux/${hostArchitecture()}`;
  const wanted = parsePlatform(text);
  if (`${wanted.os}/${wanted.architecture}` !== host) warn(`--platform=${text} ignored: devbox builds for ${host}`);
}

function usage(message: string): DevboxError {
  return new DevboxError(message, { fix: 'see "devbox build --help"', kind: 'usage' });
}

export function parseBuildArgs(argv: readonly string[]): BuildOptions {
  const options = Object.fromEntries(
    BUILD_OPTION_DEFS.map((d) => [
      d.name,
      { type: d.kind === 'boolean' ? ('boolean' as const) : ('string' as const), multiple: d.kind === 'multiple', ...(d.char ? { short: d.char } : {}) },
    ]),
  );
  const parse = () => {
    try {
      return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    } catch (error) {
      throw usage((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
    }
  };
  const parsed = parse();
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  for (const def of BUILD_OPTION_DEFS) {
    const value = values[def.name];
    if (def.options && typeof value === 'string' && !def.options.includes(value))
      throw usage(`--${def.name} must be one of ${def.options.join(', ')}, not "${value}"`);
  }
  if (parsed.positionals.length !== 1)
    throw usage(
      parsed.positionals.length
        ? `"devbox build" takes one CONTEXT, not ${parsed.positionals.length}`
        : '"devbox build" requires a CONTEXT directory (e.g. ".")',
    );
  checkPlatform(values.platform as string | undefined);
  const progress = values.quiet ? 'quiet' : ((values.progress as string | undefined) ?? 'auto');
  const network = (values.network as string | undefined) ?? 'default';
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
  };
}
