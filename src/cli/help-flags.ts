/** oclif flags generated from an option table, for help text only: the commands parse with their own parser. */
import { Flags, type Interfaces } from '@oclif/core';
import type { OptionDef } from './option-table.js';

export function helpFlags(defs: readonly OptionDef[]): Interfaces.FlagInput {
  const flags: Interfaces.FlagInput = {};
  for (const d of defs) {
    const common = { description: d.description, ...(d.char ? { char: d.char as 'a' } : {}) };
    const value = { ...common, helpValue: d.helpValue, options: d.options as string[] | undefined };
    flags[d.name] = d.kind === 'boolean' ? Flags.boolean(common) : d.kind === 'multiple' ? Flags.string({ ...value, multiple: true }) : Flags.string(value);
  }
  return flags;
}
