/**
 * Steps that only change the image's configuration (ENV, LABEL, ARG, USER, CMD, ENTRYPOINT, SHELL, EXPOSE,
 * VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, MAINTAINER): their arguments expanded as Docker expands them,
 * what goes into the cache key and the history, and the config edit (config-edits.ts has the rules).
 */
import { checkSignal, commandArgs, exposedPorts, goQuoted, healthConfig, setEnv } from './config-edits.js';
import { expandWords } from './expand.js';
import type { Instruction } from './instructions.js';
import type { StageState, StepPlan } from './stage-state.js';
import { StepError } from './step-error.js';

/** Where an ARG's value comes from: --build-arg, else its default, else the global ARG of that name. */
export interface ArgScope {
  buildArg(name: string): string | undefined;
  globalArg(name: string): string | undefined;
  /** For the warning about --build-arg values no ARG consumed. */
  declared(name: string): void;
}

const pairsText = (pairs: readonly (readonly [string, string])[]) => pairs.map(([k, v]) => `${k}=${v}`).join(' ');

/** The plan of a config-only step, or undefined for instructions that change files. */
export function planConfigStep(
  instruction: Instruction,
  state: StageState,
  expand: (word: string) => string,
  args: ArgScope,
  escape: string,
): StepPlan | undefined {
  switch (instruction.kind) {
    case 'ENV': {
      const pairs = instruction.pairs.map(([k, v]) => [expand(k), expand(v)] as const);
      for (const [k, v] of pairs) state.env.set(k, v);
      return {
        describe: { env: pairs },
        history: `ENV ${pairsText(pairs)}`,
        edit: (c) => {
          for (const [k, v] of pairs) c.Env = setEnv(c.Env, k, v);
        },
      };
    }
    case 'LABEL': {
      const pairs = instruction.pairs.map(([k, v]) => [expand(k), expand(v)] as const);
      return {
        describe: { label: pairs },
        history: `LABEL ${pairsText(pairs)}`,
        edit: (c) => {
          c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) };
        },
      };
    }
    case 'ARG': {
      const resolved = instruction.args.map(({ name, value }): [string, string | undefined] => {
        args.declared(name);
        const resolvedValue = args.buildArg(name) ?? (value !== undefined ? expand(value) : args.globalArg(name));
        if (resolvedValue !== undefined) state.env.set(name, resolvedValue);
        return [name, resolvedValue];
      });
      return { describe: { arg: resolved }, history: `ARG ${resolved.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ')}` };
    }
    case 'USER': {
      const user = expand(instruction.user);
      return {
        describe: { user },
        history: `USER ${user}`,
        edit: (c) => {
          c.User = user;
        },
      };
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      const argv = commandArgs(instruction.command, state.config.config?.Shell);
      const isCmd = instruction.kind === 'CMD';
      if (isCmd) state.cmdSet = true;
      const keepCmd = state.cmdSet;
      return {
        describe: { [instruction.kind]: argv, keepCmd },
        history: `${instruction.kind} ${goQuoted(argv)}`,
        edit: (c) => {
          if (isCmd) c.Cmd = argv;
          else {
            c.Entrypoint = argv;
            if (!keepCmd) delete c.Cmd; // Docker: an ENTRYPOINT resets a CMD this stage did not set
          }
        },
      };
    }
    case 'SHELL':
      return {
        describe: { shell: instruction.shell },
        history: `SHELL ${goQuoted(instruction.shell)}`,
        edit: (c) => {
          c.Shell = instruction.shell;
        },
      };
    case 'EXPOSE': {
      const ports = exposedPorts(instruction.ports.flatMap((p) => expandWords(p, (n) => state.env.get(n), { escape })));
      return {
        describe: { expose: ports },
        history: `EXPOSE ${ports.join(' ')}`,
        edit: (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) };
        },
      };
    }
    case 'VOLUME': {
      const volumes = instruction.volumes.map(expand);
      if (volumes.some((v) => !v)) throw new StepError('VOLUME specified can not be an empty string');
      return {
        describe: { volume: volumes },
        history: `VOLUME ${goQuoted(volumes)}`,
        edit: (c) => {
          c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(volumes.map((v) => [v, {}])) };
        },
      };
    }
    case 'STOPSIGNAL': {
      const signal = expand(instruction.signal);
      checkSignal(signal);
      return {
        describe: { stopSignal: signal },
        history: `STOPSIGNAL ${signal}`,
        edit: (c) => {
          c.StopSignal = signal;
        },
      };
    }
    case 'HEALTHCHECK': {
      const health = healthConfig(instruction.test, instruction.options);
      return {
        describe: { health },
        history: `HEALTHCHECK ${JSON.stringify(health)}`,
        edit: (c) => {
          c.Healthcheck = health;
        },
      };
    }
    case 'ONBUILD':
      return {
        describe: { onbuild: instruction.expression },
        history: `ONBUILD ${instruction.expression}`,
        edit: (c) => {
          c.OnBuild = [...(c.OnBuild ?? []), instruction.expression];
        },
      };
    case 'MAINTAINER':
      return {
        describe: { maintainer: instruction.name },
        history: `MAINTAINER ${instruction.name}`,
        edit: (_c, image) => {
          image.author = instruction.name;
        },
      };
    default:
      return undefined;
  }
}
