/**
 * Dockerfile nodes → typed instructions grouped into stages, with each instruction's flags and argument
 * count checked as BuildKit checks them (frontend/dockerfile/instructions/parse.go). Variables are not
 * expanded here: that needs the build's state and happens when the step is dispatched (dispatch.ts).
 */
import { parseDockerfile, splitQuotedWords, type DockerfileNode, type Heredoc, DockerfileSyntaxError } from './dockerfile.js';
import { ExpansionError, expandWord } from './expand.js';

/** RUN, CMD, ENTRYPOINT and HEALTHCHECK take a JSON array (exec form) or a shell command line. */
export type CommandLine = { exec: string[] } | { shell: string };

export interface HealthcheckOptions {
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: string;
}

export type InstructionBody =
  | { kind: 'FROM'; image: string; stageName?: string; platform?: string }
  | { kind: 'RUN'; command: CommandLine; mounts: string[]; network?: string; heredocs: Heredoc[] }
  | {
      kind: 'COPY' | 'ADD';
      sources: string[];
      heredocs: Heredoc[];
      dest: string;
      chown?: string;
      chmod?: string;
      from?: string;
      checksum?: string;
      exclude: string[];
    }
  | { kind: 'ENV' | 'LABEL'; pairs: [string, string][] }
  | { kind: 'ARG'; args: { name: string; value?: string }[] }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'USER'; user: string }
  | { kind: 'CMD' | 'ENTRYPOINT'; command: CommandLine }
  | { kind: 'SHELL'; shell: string[] }
  | { kind: 'EXPOSE'; ports: string[] }
  | { kind: 'VOLUME'; volumes: string[] }
  | { kind: 'STOPSIGNAL'; signal: string }
  | { kind: 'HEALTHCHECK'; test: 'NONE' | CommandLine; options: HealthcheckOptions }
  | { kind: 'ONBUILD'; expression: string }
  | { kind: 'MAINTAINER'; name: string };

export type Instruction = InstructionBody & { node: DockerfileNode };
export type InstructionOf<K extends Instruction['kind']> = Instruction & { kind: K };

export interface Stage {
  /** Position among the Dockerfile's stages (what `COPY --from=0` names). */
  index: number;
  /** `AS name`, lower-cased as Docker does. */
  name?: string;
  from: InstructionOf<'FROM'>;
  instructions: Instruction[];
}

export interface BuildPlan {
  /** ARG instructions before the first FROM: their values may be used in FROM lines. */
  metaArgs: InstructionOf<'ARG'>[];
  stages: Stage[];
  escape: string;
}

/** An error in the Dockerfile, at a line; dispatch turns it into the user's message. */
export class InstructionError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly instruction?: string,
  ) {
    super(message);
  }
}

interface FlagSpec {
  name: string;
  kind: 'string' | 'boolean' | 'multiple';
}

const FLAGS: Record<string, FlagSpec[]> = {
  FROM: [{ name: 'platform', kind: 'string' }],
  RUN: [
    { name: 'mount', kind: 'multiple' },
    { name: 'network', kind: 'string' },
    { name: 'security', kind: 'string' },
  ],
  COPY: [
    { name: 'from', kind: 'string' },
    { name: 'chown', kind: 'string' },
    { name: 'chmod', kind: 'string' },
    { name: 'link', kind: 'boolean' },
    { name: 'exclude', kind: 'multiple' },
    { name: 'parents', kind: 'boolean' },
  ],
  ADD: [
    { name: 'chown', kind: 'string' },
    { name: 'chmod', kind: 'string' },
    { name: 'link', kind: 'boolean' },
    { name: 'checksum', kind: 'string' },
    { name: 'exclude', kind: 'multiple' },
    { name: 'keep-git-dir', kind: 'boolean' },
    { name: 'unpack', kind: 'boolean' },
  ],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'].map((name) => ({ name, kind: 'string' as const })),
};

/** Flags that parse but that devbox does not implement: refused with a clear message rather than ignored. */
const UNSUPPORTED_FLAGS: Record<string, string[]> = {
  RUN: ['security'],
  COPY: ['parents'],
  ADD: ['keep-git-dir', 'unpack'],
};

type FlagValues = Map<string, string | string[] | boolean>;

function parseFlags(node: DockerfileNode): FlagValues {
  const specs = FLAGS[node.keyword] ?? [];
  const values: FlagValues = new Map();
  for (const flag of node.flags) {
    const eq = flag.indexOf('=');
    const name = eq < 0 ? flag : flag.slice(0, eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) {
      const allowed = specs.length ? ` (${node.keyword} takes ${specs.map((s) => `--${s.name}`).join(', ')})` : ` (${node.keyword} takes no flags)`;
      throw new InstructionError(`unknown flag: --${name}${allowed}`, node.startLine);
    }
    if (UNSUPPORTED_FLAGS[node.keyword]?.includes(name)) {
      throw new InstructionError(`--${name} is not supported by devbox build`, node.startLine);
    }
    const value = eq < 0 ? undefined : flag.slice(eq + 1);
    if (spec.kind === 'boolean') {
      if (value !== undefined && value !== 'true' && value !== 'false')
        throw new InstructionError(`--${name}: expected true or false, not "${value}"`, node.startLine);
      values.set(name, value !== 'false');
    } else if (value === undefined) {
      throw new InstructionError(`--${name} needs a value (--${name}=VALUE)`, node.startLine);
    } else if (spec.kind === 'multiple') {
      values.set(name, [...((values.get(name) as string[] | undefined) ?? []), value]);
    } else {
      if (values.has(name)) throw new InstructionError(`--${name} given more than once`, node.startLine);
      values.set(name, value);
    }
  }
  return values;
}

function commandLine(text: string, json: string[] | undefined): CommandLine {
  return json ? { exec: json } : { shell: text };
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

/** Key/value pairs of ENV and LABEL: `k=v k2="v 2"`, or the legacy `KEY value with spaces`. */
function keyValuePairs(node: DockerfileNode, escape: string): [string, string][] {
  const words = splitQuotedWords(node.args, escape);
  if (!words.length) throw new InstructionError(`${node.keyword} requires at least one argument`, node.startLine);
  if (!words[0].includes('=')) {
    const m = /^(\S+)\s+([\s\S]+)$/.exec(node.args);
    if (!m) throw new InstructionError(`${node.keyword} must have two arguments`, node.startLine);
    return [[m[1], m[2]]];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) throw new InstructionError(`syntax error - can't find = in "${word}"; must be of the form: name=value`, node.startLine);
    if (eq === 0) throw new InstructionError(`${node.keyword} names cannot be blank`, node.startLine);
    return [word.slice(0, eq), word.slice(eq + 1)];
  });
}

function exactlyOne(node: DockerfileNode): string {
  if (node.args?.split(/[\t\v\f\r ]+/).length !== 1) {
    // WORKDIR and USER keep their text whole in Docker; only "no argument" is an error for them.
    if (node.args && ['WORKDIR', 'USER', 'STOPSIGNAL', 'MAINTAINER'].includes(node.keyword)) return node.args;
    throw new InstructionError(`${node.keyword} requires exactly one argument`, node.startLine);
  }
  return node.args;
}

function whitespaceWords(text: string): string[] {
  return text ? text.split(/[\t\v\f\r ]+/).filter(Boolean) : [];
}

/** One node as an instruction; throws InstructionError for what Docker refuses. */
export function toInstruction(node: DockerfileNode, escape: string): Instruction {
  const flags = parseFlags(node);
  const str = (name: string) => flags.get(name) as string | undefined;
  const list = (name: string) => (flags.get(name) as string[] | undefined) ?? [];
  const body = ((): InstructionBody => {
    switch (node.keyword) {
      case 'FROM': {
        const words = whitespaceWords(node.args);
        if (words.length === 3 && words[1].toLowerCase() === 'as') {
          const stageName = words[2].toLowerCase();
          if (!STAGE_NAME.test(stageName)) {
            throw new InstructionError(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`, node.startLine);
          }
          return { kind: 'FROM', image: words[0], stageName, platform: str('platform') };
        }
        if (words.length !== 1) throw new InstructionError('FROM requires either one or three arguments (FROM IMAGE [AS NAME])', node.startLine);
        return { kind: 'FROM', image: words[0], platform: str('platform') };
      }
      case 'RUN':
        if (!node.args && !node.json) throw new InstructionError('RUN requires at least one argument', node.startLine);
        return { kind: 'RUN', command: commandLine(node.args, node.json), mounts: list('mount'), network: str('network'), heredocs: node.heredocs };
      case 'COPY':
      case 'ADD': {
        const words = node.json ?? whitespaceWords(node.args);
        if (words.length < 2)
          throw new InstructionError(
            `${node.keyword} requires at least two arguments, but only one was provided. Destination could not be determined`,
            node.startLine,
          );
        const dest = words[words.length - 1];
        const heredocNames = new Set(node.heredocs.map((h) => h.name));
        const sources: string[] = [];
        const heredocs: Heredoc[] = [];
        for (const word of words.slice(0, -1)) {
          const marker = /^\d*<<-?\s*(.+)$/.exec(word);
          const name = marker?.[1].replace(/^(['"])(.*)\1$/, '$2');
          if (name !== undefined && heredocNames.has(name)) heredocs.push(node.heredocs.find((h) => h.name === name)!);
          else sources.push(word);
        }
        if (node.keyword === 'COPY' && str('checksum')) throw new InstructionError("checksum can't be specified for COPY", node.startLine);
        return {
          kind: node.keyword,
          sources,
          heredocs,
          dest,
          chown: str('chown'),
          chmod: str('chmod'),
          from: str('from'),
          checksum: str('checksum'),
          exclude: list('exclude'),
        };
      }
      case 'ENV':
      case 'LABEL':
        return { kind: node.keyword, pairs: keyValuePairs(node, escape) };
      case 'ARG': {
        const words = splitQuotedWords(node.args, escape);
        if (!words.length) throw new InstructionError('ARG requires at least one argument', node.startLine);
        return {
          kind: 'ARG',
          args: words.map((word) => {
            const eq = word.indexOf('=');
            const name = argName(eq < 0 ? word : word.slice(0, eq), escape, node.startLine);
            return eq < 0 ? { name } : { name, value: word.slice(eq + 1) };
          }),
        };
      }
      case 'WORKDIR':
        return { kind: 'WORKDIR', path: exactlyOne(node) };
      case 'USER':
        return { kind: 'USER', user: exactlyOne(node) };
      case 'STOPSIGNAL':
        return { kind: 'STOPSIGNAL', signal: exactlyOne(node) };
      case 'MAINTAINER':
        return { kind: 'MAINTAINER', name: exactlyOne(node) };
      case 'CMD':
      case 'ENTRYPOINT':
        return { kind: node.keyword, command: commandLine(node.args, node.json) };
      case 'SHELL':
        if (!node.json) throw new InstructionError('SHELL requires the arguments to be in JSON form (SHELL ["executable", "parameters"])', node.startLine);
        if (!node.json.length) throw new InstructionError('SHELL requires at least one argument', node.startLine);
        return { kind: 'SHELL', shell: node.json };
      case 'EXPOSE': {
        const ports = whitespaceWords(node.args);
        if (!ports.length) throw new InstructionError('EXPOSE requires at least one argument', node.startLine);
        return { kind: 'EXPOSE', ports };
      }
      case 'VOLUME': {
        const volumes = (node.json ?? whitespaceWords(node.args)).map((v) => v.trim());
        if (!volumes.length) throw new InstructionError('VOLUME requires at least one argument', node.startLine);
        if (volumes.some((v) => !v)) throw new InstructionError('VOLUME specified can not be an empty string', node.startLine);
        return { kind: 'VOLUME', volumes };
      }
      case 'HEALTHCHECK': {
        const m = /^(\S+)\s*([\s\S]*)$/.exec(node.args);
        if (!m) throw new InstructionError('HEALTHCHECK requires at least one argument', node.startLine);
        const type = m[1].toUpperCase();
        if (type === 'NONE') {
          if (m[2].trim()) throw new InstructionError('HEALTHCHECK NONE takes no arguments', node.startLine);
          return { kind: 'HEALTHCHECK', test: 'NONE', options: {} };
        }
        if (type !== 'CMD') throw new InstructionError(`unknown type "${m[1]}" in HEALTHCHECK (try CMD)`, node.startLine);
        if (!m[2].trim()) throw new InstructionError('missing command after HEALTHCHECK CMD', node.startLine);
        const options = {
          interval: str('interval'),
          timeout: str('timeout'),
          startPeriod: str('start-period'),
          startInterval: str('start-interval'),
          retries: str('retries'),
        };
        return { kind: 'HEALTHCHECK', test: commandLine(m[2].trim(), node.json), options };
      }
      case 'ONBUILD': {
        const trigger = (/^(\S+)/.exec(node.args)?.[1] ?? '').toUpperCase();
        if (!trigger) throw new InstructionError('ONBUILD requires at least one argument', node.startLine);
        if (trigger === 'ONBUILD') throw new InstructionError("chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed", node.startLine);
        if (trigger === 'FROM' || trigger === 'MAINTAINER') throw new InstructionError(`${trigger} isn't allowed as an ONBUILD trigger`, node.startLine);
        const expression = node.original.replace(/^\s*ONBUILD\s*/i, '') + node.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
        // The trigger must itself be a valid instruction, as Docker checks when it is recorded.
        parseTrigger(expression, node.startLine);
        return { kind: 'ONBUILD', expression };
      }
      default:
        throw new InstructionError(`unknown instruction: ${node.keyword}`, node.startLine);
    }
  })();
  return { ...body, node } as Instruction;
}

/**
 * An ARG's name with its quotes removed, as BuildKit lexes it (`ARG "A"=1` declares A); an unmatched quote
 * or nothing left is an error. Variables in a name are left as written: names are not expanded here.
 */
function argName(raw: string, escape: string, line: number): string {
  let name: string;
  try {
    name = expandWord(raw, () => undefined, { escape, skipUnset: true });
  } catch (error) {
    if (error instanceof ExpansionError) throw new InstructionError(error.message, line);
    throw error;
  }
  if (!name) throw new InstructionError('ARG names cannot be blank', line);
  return name;
}

/** An ONBUILD trigger expression as an instruction, reported at `line` (the FROM or ONBUILD that holds it). */
export function parseTrigger(expression: string, line: number): Instruction {
  let nodes: DockerfileNode[];
  try {
    nodes = parseDockerfile(expression).nodes;
  } catch (error) {
    throw new InstructionError(`ONBUILD trigger: ${(error as Error).message}`, line);
  }
  if (nodes.length !== 1) throw new InstructionError('an ONBUILD trigger should be a single expression', line);
  try {
    // Docker parses a trigger on its own, with the default escape character.
    const instruction = toInstruction(nodes[0], '\\');
    return { ...instruction, node: { ...instruction.node, startLine: line, endLine: line } };
  } catch (error) {
    if (error instanceof InstructionError) throw new InstructionError(error.message, line);
    throw error;
  }
}

/** The Dockerfile's text as stages; syntax and instruction errors become InstructionError with their line. */
export function parseBuildPlan(text: string): BuildPlan {
  const nul = text.indexOf('\0');
  // No program could be given the line as an argument; BuildKit fails the step, devbox the Dockerfile.
  if (nul >= 0) throw new InstructionError('contains a NUL byte: a Dockerfile is text', text.slice(0, nul).split('\n').length);
  let parsed: ReturnType<typeof parseDockerfile>;
  try {
    parsed = parseDockerfile(text);
  } catch (error) {
    if (error instanceof DockerfileSyntaxError) throw new InstructionError(error.message, error.line);
    throw error;
  }
  const metaArgs: InstructionOf<'ARG'>[] = [];
  const stages: Stage[] = [];
  for (const node of parsed.nodes) {
    let instruction: Instruction;
    try {
      instruction = toInstruction(node, parsed.escape);
    } catch (error) {
      if (error instanceof InstructionError && error.instruction === undefined) throw new InstructionError(error.message, error.line, node.original);
      throw error;
    }
    if (instruction.kind === 'FROM') {
      stages.push({ index: stages.length, name: instruction.stageName, from: instruction, instructions: [] });
      continue;
    }
    if (!stages.length) {
      if (instruction.kind !== 'ARG')
        throw new InstructionError('no build stage in current context: the first instruction must be FROM (or ARG)', node.startLine, node.original);
      metaArgs.push(instruction);
      continue;
    }
    stages[stages.length - 1].instructions.push(instruction);
  }
  if (!stages.length) throw new InstructionError('the Dockerfile has no FROM instruction', parsed.nodes[parsed.nodes.length - 1].startLine);
  const seen = new Set<string>();
  for (const stage of stages) {
    if (!stage.name) continue;
    if (seen.has(stage.name)) throw new InstructionError(`duplicate stage name "${stage.name}"`, stage.from.node.startLine, stage.from.node.original);
    seen.add(stage.name);
  }
  return { metaArgs, stages, escape: parsed.escape };
}
