/**
 * The shape of the option tables that drive both a hot-path parser (without oclif) and the oclif command's
 * help text (help-flags.ts): `devbox run` and `devbox build`.
 */
export interface OptionDef {
  name: string;
  char?: string;
  kind: 'boolean' | 'string' | 'multiple';
  description: string;
  helpValue?: string;
  options?: readonly string[];
}
