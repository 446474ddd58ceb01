/**
 * `devbox build` options: one table for the parser (option-table.ts, without oclif, so a no-op rebuild does
 * not pay for loading it) and for the help text of the oclif command (commands/build.ts).
 * Names and meanings are docker build's.
 */
import type { BuildOptions } from '../builder/builder.js';
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
];

const usage = (message: string) => optionUsage('build', message);

/** `--platform`: checked, and a warning when it names another platform than the one devbox builds for. */
function checkPlatform(text: string | undefined): void {
  if (text === undefined) return;
  const host = `linux/${hostArchitecture()}`;
  const wanted = parsePlatform(text);
  if (`${wanted.os}/${wanted.architecture}` !== host) warn(`--platform=${text} ignored: devbox builds for ${host}`);
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
