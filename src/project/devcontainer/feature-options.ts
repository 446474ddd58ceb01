/**
 * A Feature's options (containers.dev/implementors/features, "Option Resolution"): the values devcontainer.json
 * gives, checked against the types the Feature declares, defaults for the rest, and the environment file its
 * install.sh sources, one `NAME="value"` line per option, the name made a valid variable name as the spec says.
 */
import type { Parsed } from '../ports.js';
import type { FeatureOptionValue } from './feature-request.js';
import type { FeatureMetadata } from './feature-metadata.js';

/** A value devbox refuses: `option` is the key at fault (undefined: the whole value). */
export interface OptionProblem {
  option?: string;
  message: string;
}

/** The spec's name for an option's variable: [^\w_] → _, leading digits and underscores → _, upper case. */
export function optionVariable(name: string): string {
  return name
    .replace(/[^\w_]/g, '_')
    .replace(/^[\d_]+/g, '_')
    .toUpperCase();
}

/** The options as an object: the string shorthand is the `version` option. */
export function givenOptions(value: Record<string, FeatureOptionValue> | string, metadata: FeatureMetadata): Parsed<Record<string, FeatureOptionValue>> {
  if (typeof value !== 'string') return { ok: true, value };
  if (!metadata.options?.version) {
    return { ok: false, reason: `is "${value}", the short form of a "version" option, which Feature ${metadata.id} does not have (give options as an object)` };
  }
  return { ok: true, value: { version: value } };
}

/**
 * Every option's value as a string: the given one, else the Feature's default. A boolean option takes
 * true/false or "true"/"false" (official templates write the strings); an option with an enum only its values.
 */
export function resolveOptions(
  given: Record<string, FeatureOptionValue>,
  metadata: FeatureMetadata,
): { values: Record<string, string>; problems: OptionProblem[] } {
  const declared = metadata.options ?? {};
  const values: Record<string, string> = {};
  const problems: OptionProblem[] = [];
  for (const [name, option] of Object.entries(declared)) {
    if (option.default !== undefined) values[name] = String(option.default);
  }
  for (const [name, value] of Object.entries(given)) {
    // An option the Feature does not declare is passed on as given, as the reference implementation does.
    const option = declared[name];
    if (option?.type === 'boolean' && !(typeof value === 'boolean' || value === 'true' || value === 'false')) {
      problems.push({ option: name, message: `must be true or false (option "${name}" of Feature ${metadata.id} is a boolean), not ${JSON.stringify(value)}` });
      continue;
    }
    if (option?.enum && !option.enum.includes(String(value))) {
      problems.push({
        option: name,
        message: `must be one of ${option.enum.map((v) => JSON.stringify(v)).join(', ')} (option "${name}" of Feature ${metadata.id}), not ${JSON.stringify(value)}`,
      });
      continue;
    }
    values[name] = String(value);
  }
  return { values, problems };
}

/** A value as sh reads it back: the spec's double quotes when that is safe, else single quotes. */
function shellValue(value: string): string {
  return /["\\$`]/.test(value) ? `'${value.replace(/'/g, `'\\''`)}'` : `"${value}"`;
}

/** devcontainer-features.env: the options as install.sh sees them. */
export function optionsEnvFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([name, value]) => `${optionVariable(name)}=${shellValue(value)}`)
    .join('\n');
}
