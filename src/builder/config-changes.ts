/**
 * `commit -c` and `import --change`: Dockerfile instructions that change only an image's configuration,
 * applied with the builder's own rules (config-steps.ts), as Docker's BuildFromConfig does. Docker's list:
 * CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR (and HEALTHCHECK).
 */
import type { ImageConfig } from '../image/oci.js';
import { DevboxError } from '../util/errors.js';
import { workdirPath } from './config-edits.js';
import { planConfigStep, type ArgScope } from './config-steps.js';
import { expandWord } from './expand.js';
import { InstructionError, parseBuildPlan, type Instruction } from './instructions.js';
import { envMap } from './stage-state.js';
import { StepError } from './step-error.js';

const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR', 'HEALTHCHECK']);

const NO_ARGS: ArgScope = { buildArg: () => undefined, globalArg: () => undefined, declared: () => {} };

/** A copy of `image` with each change applied in order; a bad one is a usage error naming it. */
export function applyConfigChanges(image: ImageConfig, changes: readonly string[]): ImageConfig {
  const result: ImageConfig = structuredClone(image);
  result.config ??= {};
  for (const change of changes) {
    const fail = (reason: string) => new DevboxError(`invalid change "${change}": ${reason}`, { kind: 'usage' });
    let instruction: Instruction | undefined;
    try {
      instruction = parseBuildPlan(`FROM scratch\n${change}\n`).stages[0].instructions[0];
    } catch (error) {
      if (error instanceof InstructionError) throw fail(error.message);
      throw error;
    }
    if (!instruction) throw fail('no instruction');
    if (!ALLOWED.has(instruction.kind)) throw fail(`${instruction.kind} cannot be changed here (${[...ALLOWED].join(', ')} can)`);
    const env = envMap(result.config.Env);
    const expand = (word: string) => expandWord(word, (name) => env.get(name));
    if (instruction.kind === 'WORKDIR') {
      result.config.WorkingDir = workdirPath(result.config.WorkingDir, expand(instruction.path));
      continue;
    }
    try {
      const state = { key: '', config: result, layers: [], env, cmdSet: false };
      planConfigStep(instruction, state, expand, NO_ARGS, '\\')?.edit?.(result.config, result);
    } catch (error) {
      if (error instanceof StepError) throw fail(error.message);
      throw error;
    }
  }
  return result;
}
