/**
 * The option tables that drive both a parser without oclif (Node's util.parseArgs, which costs nothing to
 * load) and the oclif command's help text (help-flags.ts): the commands of entries.ts.
 */
import { parseArgs } from 'node:util';
import { DevboxError } from '../util/errors.js';

export interface OptionDef {
  name: string;
  char?: string;
  kind: 'boolean' | 'string' | 'multiple';
  description: string;
  helpValue?: string;
  options?: readonly string[];
}

export type OptionValues = Record<string, string | string[] | boolean | undefined>;

/** A usage error of `devbox COMMAND`, pointing at its help. */
export function optionUsage(command: string, message: string): DevboxError {
  return new DevboxError(message, { fix: `see "devbox ${command} --help"`, kind: 'usage' });
}

/**
 * The operands of `devbox COMMAND`: `what` names them in the line for a missing one (omitted: the command takes
 * none), `max` is how many it takes.
 */
export function checkOperands(command: string, positionals: readonly string[], what?: string, max = Number.POSITIVE_INFINITY): string[] {
  if (!what && positionals.length) throw optionUsage(command, `"devbox ${command}" takes no arguments, not "${positionals[0]}"`);
  if (what && !positionals.length) throw optionUsage(command, `"devbox ${command}" needs ${what}`);
  if (positionals.length > max)
    throw optionUsage(command, `"devbox ${command}" takes ${max === 1 ? 'one argument' : `${max} arguments`}, not also "${positionals[max]}"`);
  return [...positionals];
}

/**
 * Parses argv with the table (options and operands mixed, as oclif takes them); `json`: the command also
 * takes oclif's --json (enableJsonFlag, which is not in its table). Unknown options and values outside a
 * def's `options` are one usage line.
 */
export function parseOptionTable(
  command: string,
  defs: readonly OptionDef[],
  argv: readonly string[],
  how: { json?: boolean } = {},
): { values: OptionValues; positionals: string[] } {
  const options = Object.fromEntries(
    defs.map((d) => [
      d.name,
      { type: d.kind === 'boolean' ? ('boolean' as const) : ('string' as const), multiple: d.kind === 'multiple', ...(d.char ? { short: d.char } : {}) },
    ]),
  );
  if (how.json) options.json = { type: 'boolean', multiple: false };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw optionUsage(command, (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values = parsed.values as OptionValues;
  for (const def of defs) {
    const value = values[def.name];
    if (def.options && typeof value === 'string' && !def.options.includes(value))
      throw optionUsage(command, `--${def.name} must be one of ${def.options.join(', ')}, not "${value}"`);
  }
  return { values, positionals: parsed.positionals };
}
