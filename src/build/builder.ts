/**
 * `devbox build`: a Dockerfile and its context → an image in the store. Stages are built in file order,
 * only those the target needs; each instruction is a step whose result (the image config and layers after
 * it) is cached under a key chained from its parent's (cache.ts), so a rebuild with nothing changed only
 * parses, hashes the COPY sources and reads one small cache entry per step. Steps that change files (RUN,
 * COPY, ADD, WORKDIR) get a workspace, produce a layer tar, and commit it with their cache entry.
 */
import { readBuildCacheEntry, type BuildCacheEntry } from '../image/build-cache-store.js';
import { DEFAULT_PATH, hostArchitecture, MediaType, type ContainerConfig, type Descriptor, type ImageConfig } from '../image/oci.js';
import { parseGroup, parsePasswd, readImageFile, resolveUser, type ResolvedUser } from '../image/passwd.js';
import { normalizedName, parseReference } from '../image/reference.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { StorageDriver } from '../storage/driver.js';
import { resolveIdMapping, type IdMapping } from '../userns/idmap.js';
import { describeError, DevboxError } from '../util/errors.js';
import { resolveBaseImage } from './base-image.js';
import { stepKey } from './cache.js';
import { checkSignal, commandArgs, destinationPath, exposedPorts, goQuoted, healthConfig, parseChmod, setEnv, workdirPath } from './config-edits.js';
import { hashContextSources, openContext, type BuildContext } from './context.js';
import { expandWord, expandWords, ExpansionError } from './expand.js';
import type { FsAction, Owner } from './fs-actions.js';
import { InstructionError, parseBuildPlan, parseTrigger, type BuildPlan, type Instruction, type InstructionOf, type Stage } from './instructions.js';
import type { LayerTarResult } from './layer-tar.js';
import { LayerView } from './layer-view.js';
import { createProgress, type Progress, type ProgressMode } from './progress.js';
import { parseRunMounts } from './run-mounts.js';
import { hasWildcards, isUrl } from './sources.js';
import { StepError } from './step-error.js';
import { createWorkspace, removeStaleWorkspaces, removeWorkspace, type StepWorkspace } from './workspace.js';

// Modules only a step that runs (rather than coming from the cache) needs are imported when it does: a
// rebuild with nothing to do should cost little more than starting Node.js.
const layerCommit = () => import('./layer-commit.js');

export interface BuildOptions {
  context: string;
  file?: string;
  tags: string[];
  /** `KEY=VALUE`, or `KEY` to take the value from devbox's environment. */
  buildArgs: string[];
  target?: string;
  noCache: boolean;
  progress: ProgressMode;
  network: 'host' | 'none';
}

export interface BuildResult {
  id: string;
  names: string[];
}

/** ARGs every build has without declaring them (Docker's predefined proxy args): RUN sees them, the cache does not. */
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]);

/** The image config of one stage as it is built, and what its instructions see. */
interface StageState {
  key: string;
  config: ImageConfig;
  layers: Descriptor[];
  /** Variables for expansion and RUN: the image's ENV and the ARGs declared so far. */
  env: Map<string, string>;
  /** CMD set in this stage (ENTRYPOINT then keeps it). */
  cmdSet: boolean;
}

interface StageResult {
  key: string;
  config: ImageConfig;
  layers: Descriptor[];
}

/** A failure of one instruction: `Dockerfile:LINE: INSTRUCTION: why`. */
class DockerfileError extends DevboxError {}

function shortInstruction(instruction: Instruction): string {
  const text = instruction.node.original.replace(/\s+/g, ' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function envMap(env: readonly string[] | null | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const entry of env ?? []) {
    const eq = entry.indexOf('=');
    map.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? '' : entry.slice(eq + 1));
  }
  return map;
}

/** The fields of an image config a new image inherits, in a fixed order (the config's digest is the image id). */
function baseConfig(image: ImageConfig): ImageConfig {
  return {
    ...(image.author ? { author: image.author } : {}),
    architecture: image.architecture,
    os: image.os,
    ...(image.variant ? { variant: image.variant } : {}),
    config: { ...(image.config ?? {}) },
    rootfs: { type: 'layers', diff_ids: [...(image.rootfs?.diff_ids ?? [])] },
    history: [...(image.history ?? [])],
  };
}

function scratchConfig(): ImageConfig {
  return { architecture: hostArchitecture(), os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

function cloneConfig(config: ImageConfig): ImageConfig {
  return JSON.parse(JSON.stringify(config)) as ImageConfig;
}

/** NAME[:TAG] for -t, normalized as every image name in the store is (`app` → docker.io/library/app:latest). */
function tagName(tag: string): string {
  const ref = parseReference(tag);
  if (ref.digest) throw new DevboxError(`invalid tag "${tag}": give NAME[:TAG], the digest comes from the content`, { exitCode: 125 });
  return normalizedName(ref);
}

class Build {
  private readonly progress: Progress;
  private readonly results = new Map<number, StageResult>();
  private readonly metaEnv = new Map<string, string>();
  private readonly buildArgs = new Map<string, string>();
  private readonly usedArgs = new Set<string>();
  private stepNumber = 0;
  private totalSteps = 0;
  private driver?: StorageDriver;

  constructor(
    private readonly store: ImageStore,
    private readonly mapping: IdMapping,
    private readonly context: BuildContext,
    private readonly plan: BuildPlan,
    private readonly options: BuildOptions,
  ) {
    this.progress = createProgress(options.progress);
    for (const arg of options.buildArgs) {
      const eq = arg.indexOf('=');
      if (eq === 0) throw new DevboxError(`invalid --build-arg "${arg}"`, { fix: 'use --build-arg KEY=VALUE', exitCode: 125 });
      if (eq > 0) this.buildArgs.set(arg.slice(0, eq), arg.slice(eq + 1));
      else if (process.env[arg] !== undefined) this.buildArgs.set(arg, process.env[arg]!);
    }
  }

  private fail(instruction: Instruction, message: string, fix?: string): DockerfileError {
    return new DockerfileError(`${this.context.dockerfileLabel}:${instruction.node.startLine}: ${shortInstruction(instruction)}: ${message}`, { fix });
  }

  private expander(env: ReadonlyMap<string, string>): (word: string) => string {
    return (word) => expandWord(word, (name) => env.get(name), { escape: this.plan.escape });
  }

  /** Global ARGs (before the first FROM) with their --build-arg values, and BuildKit's platform ARGs. */
  private resolveMetaArgs(): void {
    const arch = hostArchitecture();
    for (const prefix of ['BUILD', 'TARGET']) {
      this.metaEnv.set(`${prefix}PLATFORM`, `linux/${arch}`);
      this.metaEnv.set(`${prefix}OS`, 'linux');
      this.metaEnv.set(`${prefix}ARCH`, arch);
      this.metaEnv.set(`${prefix}VARIANT`, '');
    }
    for (const instruction of this.plan.metaArgs) {
      for (const arg of instruction.args) {
        this.usedArgs.add(arg.name);
        let value = this.buildArgs.get(arg.name);
        if (value === undefined && arg.value !== undefined) {
          try {
            value = this.expander(this.metaEnv)(arg.value);
          } catch (error) {
            throw this.fail(instruction, (error as Error).message);
          }
        }
        if (value !== undefined) this.metaEnv.set(arg.name, value);
        else this.metaEnv.delete(arg.name);
      }
    }
  }

  /** What a stage's FROM names: an earlier stage, scratch, or an image. */
  private fromTarget(stage: Stage): { stage: Stage } | { scratch: true } | { image: string } {
    let name: string;
    try {
      name = this.expander(this.metaEnv)(stage.from.image);
    } catch (error) {
      throw this.fail(stage.from, (error as Error).message);
    }
    if (!name) throw this.fail(stage.from, 'base name should not be blank', 'set the ARG it is made of');
    const earlier = this.plan.stages.find((s) => s.index < stage.index && s.name === name.toLowerCase());
    if (earlier) return { stage: earlier };
    if (name === 'scratch') return { scratch: true };
    return { image: name };
  }

  /** The stage COPY --from names (by name or index), or undefined for an image. */
  private copySourceStage(stage: Stage, instruction: Instruction, from: string): Stage | undefined {
    const named = this.plan.stages.find((s) => s.name === from.toLowerCase()) ?? (/^\d+$/.test(from) ? this.plan.stages[Number(from)] : undefined);
    if (!named) {
      if (/^\d+$/.test(from)) throw this.fail(instruction, `there is no stage ${from}`);
      return undefined;
    }
    if (named.index >= stage.index) throw this.fail(instruction, `cannot copy from stage "${from}": it needs to be defined before the current stage`);
    return named;
  }

  private copyFrom(instruction: Instruction & { from?: string }): string | undefined {
    if (!instruction.from) return undefined;
    try {
      return this.expander(this.metaEnv)(instruction.from);
    } catch (error) {
      throw this.fail(instruction, (error as Error).message);
    }
  }

  /** The stages the target needs, in file order. */
  private neededStages(): Stage[] {
    const { stages } = this.plan;
    let target = stages[stages.length - 1];
    if (this.options.target !== undefined) {
      const found = stages.find((s) => s.name === this.options.target!.toLowerCase());
      if (!found) throw new DevboxError(`target stage "${this.options.target}" could not be found`, { fix: `stages: ${stages.map((s) => s.name ?? `#${s.index}`).join(', ')}`, exitCode: 125 });
      target = found;
    }
    const needed = new Set<number>();
    const visit = (stage: Stage) => {
      if (needed.has(stage.index)) return;
      needed.add(stage.index);
      const from = this.fromTarget(stage);
      if ('stage' in from) visit(from.stage);
      for (const instruction of stage.instructions) {
        if (instruction.kind !== 'COPY') continue;
        const source = this.copyFrom(instruction);
        const dep = source === undefined ? undefined : this.copySourceStage(stage, instruction, source);
        if (dep) visit(dep);
      }
    };
    visit(target);
    return stages.filter((s) => needed.has(s.index));
  }

  async run(): Promise<BuildResult> {
    this.resolveMetaArgs();
    const stages = this.neededStages();
    this.totalSteps = stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    for (const stage of stages) this.results.set(stage.index, await this.buildStage(stage));
    const unused = [...this.buildArgs.keys()].filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
    if (unused.length) this.progress.note(`devbox: warning: build arguments not consumed by any ARG: ${unused.join(', ')}`);
    const final = this.results.get(stages[stages.length - 1].index)!;
    return this.commit(final);
  }

  private async commit(final: StageResult): Promise<BuildResult> {
    const names = this.options.tags.map(tagName);
    const configJson = JSON.stringify(final.config);
    const { createHash } = await import('node:crypto');
    const id = `sha256:${createHash('sha256').update(configJson).digest('hex')}`;
    const existing = this.store.readIndex().images[id];
    if (!existing || !names.every((n) => existing.names.includes(n))) {
      const { commitImage } = await import('../image/manifest-writer.js');
      await this.store.withLock(() => commitImage(this.store, final.config, final.layers, names));
    }
    return { id, names };
  }

  private async buildStage(stage: Stage): Promise<StageResult> {
    this.progress.step(++this.stepNumber, this.totalSteps, stage.from.node.original);
    const from = this.fromTarget(stage);
    let state: StageState;
    const platform = stage.from.platform;
    if ('stage' in from) {
      const base = this.results.get(from.stage.index)!;
      state = { key: stepKey(base.key, { from: 'stage' }), config: cloneConfig(base.config), layers: [...base.layers], env: new Map(), cmdSet: false };
    } else if ('scratch' in from) {
      state = { key: stepKey('', { from: 'scratch' }), config: scratchConfig(), layers: [], env: new Map(), cmdSet: false };
    } else {
      let image: StoredImage;
      try {
        image = await resolveBaseImage(this.store, from.image);
      } catch (error) {
        throw this.fail(stage.from, (error as DevboxError).message, (error as DevboxError).fix);
      }
      state = { key: stepKey('', { from: image.id }), config: baseConfig(image.config), layers: [...image.manifest.layers], env: new Map(), cmdSet: false };
    }
    if (platform !== undefined) {
      const wanted = this.expander(this.metaEnv)(platform);
      if (wanted && wanted !== `linux/${hostArchitecture()}`) this.progress.note(`devbox: warning: ${this.context.dockerfileLabel}:${stage.from.node.startLine}: --platform=${wanted} ignored: devbox builds for linux/${hostArchitecture()}`);
    }
    const config = state.config.config ?? (state.config.config = {});
    // As BuildKit and buildah: every image built has a PATH, Docker's default when its base sets none.
    if (!envMap(config.Env).has('PATH')) config.Env = [...(config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    state.env = envMap(config.Env);
    // ONBUILD triggers of the base run first, then are cleared (they are for images built FROM this one).
    const triggers = (config.OnBuild ?? []).map((expression) => {
      try {
        return parseTrigger(expression, stage.from.node.startLine);
      } catch (error) {
        throw this.fail(stage.from, (error as Error).message);
      }
    });
    if (config.OnBuild) delete config.OnBuild;
    this.totalSteps += triggers.length;
    for (const instruction of [...triggers, ...stage.instructions]) {
      try {
        await this.dispatch(stage, state, instruction);
      } catch (error) {
        if (error instanceof DockerfileError) throw error;
        if (error instanceof InstructionError || error instanceof ExpansionError || error instanceof StepError) {
          throw this.fail(instruction, error.message);
        }
        if (error instanceof DevboxError) throw this.fail(instruction, error.message, error.fix);
        throw error;
      }
    }
    return { key: state.key, config: state.config, layers: state.layers };
  }

  /** Layer directories of the state's image, unpacked for this id map. */
  private lowerDirs(state: StageState): Promise<string[]> {
    const manifest = { schemaVersion: 2 as const, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: '', size: 0 }, layers: state.layers };
    return this.store.layerDirs({ id: '', names: [], manifestDigest: '', manifest, config: state.config }, this.mapping);
  }

  /**
   * One cached step. `describe` is what the key is made of; `edit` changes the config; `produce`, for steps
   * that change files, writes their layer tar into the workspace.
   */
  private async step(
    state: StageState,
    instruction: Instruction,
    describe: unknown,
    history: string,
    edit: (config: ContainerConfig) => void,
    produce?: (workspace: StepWorkspace, lowerDirs: string[]) => Promise<({ path: string } & LayerTarResult) | undefined>,
  ): Promise<void> {
    const key = stepKey(state.key, describe);
    this.progress.step(++this.stepNumber, this.totalSteps, instruction.node.original);
    const cached = this.options.noCache ? undefined : readBuildCacheEntry(this.store.root, key);
    if (cached) {
      this.apply(state, key, cached);
      this.progress.cached();
      return;
    }
    const started = Date.now();
    const config = cloneConfig(state.config);
    edit(config.config ?? (config.config = {}));
    let workspace: StepWorkspace | undefined;
    try {
      let tar: ({ path: string } & LayerTarResult) | undefined;
      if (produce) {
        workspace = createWorkspace(this.store.root);
        tar = await produce(workspace, await this.lowerDirs(state));
      }
      const { commitStep } = await layerCommit();
      const entry = await commitStep(this.store, this.mapping, key, tar, (layer) => {
        const created = new Date().toISOString();
        config.created = created;
        config.history = [...(config.history ?? []), { created, created_by: history, comment: 'devbox build', ...(layer ? {} : { empty_layer: true }) }];
        if (layer) config.rootfs.diff_ids = [...config.rootfs.diff_ids, layer.digest];
        return { config, layers: layer ? [...state.layers, layer] : state.layers };
      });
      this.apply(state, key, entry);
    } finally {
      if (workspace) await removeWorkspace(this.mapping, workspace);
    }
    this.progress.done((Date.now() - started) / 1000);
  }

  private apply(state: StageState, key: string, entry: BuildCacheEntry): void {
    state.key = key;
    state.config = entry.config;
    state.layers = entry.layers;
  }

  private async dispatch(stage: Stage, state: StageState, instruction: Instruction): Promise<void> {
    const expand = this.expander(state.env);
    const config = () => state.config.config!;
    switch (instruction.kind) {
      case 'ENV': {
        const pairs = instruction.pairs.map(([k, v]) => [expand(k), expand(v)] as const);
        for (const [k, v] of pairs) state.env.set(k, v);
        return this.step(state, instruction, { env: pairs }, `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
          for (const [k, v] of pairs) c.Env = setEnv(c.Env, k, v);
        });
      }
      case 'LABEL': {
        const pairs = instruction.pairs.map(([k, v]) => [expand(k), expand(v)] as const);
        return this.step(state, instruction, { label: pairs }, `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`, (c) => {
          c.Labels = { ...(c.Labels ?? {}) };
          for (const [k, v] of pairs) c.Labels[k] = v;
        });
      }
      case 'ARG': {
        const resolved: [string, string | undefined][] = [];
        for (const arg of instruction.args) {
          this.usedArgs.add(arg.name);
          let value = this.buildArgs.get(arg.name);
          if (value === undefined) value = arg.value !== undefined ? expand(arg.value) : this.metaEnv.get(arg.name);
          resolved.push([arg.name, value]);
          if (value !== undefined) state.env.set(arg.name, value);
        }
        return this.step(state, instruction, { arg: resolved }, `ARG ${resolved.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join(' ')}`, () => {});
      }
      case 'USER': {
        const user = expand(instruction.user);
        return this.step(state, instruction, { user }, `USER ${user}`, (c) => {
          c.User = user;
        });
      }
      case 'CMD':
      case 'ENTRYPOINT': {
        const args = commandArgs(instruction.command, config().Shell);
        const isCmd = instruction.kind === 'CMD';
        if (isCmd) state.cmdSet = true;
        const keepCmd = state.cmdSet;
        return this.step(state, instruction, { [instruction.kind]: args, keepCmd }, `${instruction.kind} ${goQuoted(args)}`, (c) => {
          if (isCmd) c.Cmd = args;
          else {
            c.Entrypoint = args;
            if (!keepCmd) delete c.Cmd;
          }
        });
      }
      case 'SHELL':
        return this.step(state, instruction, { shell: instruction.shell }, `SHELL ${goQuoted(instruction.shell)}`, (c) => {
          c.Shell = instruction.shell;
        });
      case 'EXPOSE': {
        const ports = exposedPorts(instruction.ports.flatMap((p) => expandWords(p, (n) => state.env.get(n), { escape: this.plan.escape })));
        return this.step(state, instruction, { expose: ports }, `EXPOSE ${ports.join(' ')}`, (c) => {
          c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
          for (const p of ports) c.ExposedPorts[p] = {};
        });
      }
      case 'VOLUME': {
        const volumes = instruction.volumes.map(expand);
        if (volumes.some((v) => !v)) throw new StepError('VOLUME specified can not be an empty string');
        return this.step(state, instruction, { volume: volumes }, `VOLUME ${goQuoted(volumes)}`, (c) => {
          c.Volumes = { ...(c.Volumes ?? {}) };
          for (const v of volumes) c.Volumes[v] = {};
        });
      }
      case 'STOPSIGNAL': {
        const signal = expand(instruction.signal);
        checkSignal(signal);
        return this.step(state, instruction, { stopSignal: signal }, `STOPSIGNAL ${signal}`, (c) => {
          c.StopSignal = signal;
        });
      }
      case 'HEALTHCHECK': {
        const health = healthConfig(instruction.test, instruction.options);
        return this.step(state, instruction, { health }, `HEALTHCHECK ${JSON.stringify(health)}`, (c) => {
          c.Healthcheck = health;
        });
      }
      case 'ONBUILD':
        return this.step(state, instruction, { onbuild: instruction.expression }, `ONBUILD ${instruction.expression}`, (c) => {
          c.OnBuild = [...(c.OnBuild ?? []), instruction.expression];
        });
      case 'MAINTAINER':
        return this.step(state, instruction, { maintainer: instruction.name }, `MAINTAINER ${instruction.name}`, () => {
          state.config.author = instruction.name;
        });
      case 'WORKDIR':
        return this.workdir(state, instruction, expand(instruction.path));
      case 'RUN':
        return this.runCommand(state, instruction);
      case 'COPY':
      case 'ADD':
        return this.copy(stage, state, instruction, expand);
      case 'FROM':
        throw new InstructionError('FROM inside a stage', instruction.node.startLine);
    }
  }

  /** uid:gid for --chown or a WORKDIR's owner, from the image's /etc/passwd and /etc/group (BuildKit's rules). */
  private owner(spec: string, lowerDirs: readonly string[]): Owner {
    const [user, group] = spec.split(':', 2);
    const lookupId = (text: string, file: 'passwd' | 'group'): number => {
      if (/^\d+$/.test(text)) return Number(text);
      if (text === 'root') return 0;
      const content = readImageFile(lowerDirs, `etc/${file}`);
      const found = file === 'passwd' ? parsePasswd(content).find((p) => p.name === text)?.uid : parseGroup(content).find((g) => g.name === text)?.gid;
      if (found === undefined) throw new StepError(`unable to find ${file === 'passwd' ? 'user' : 'group'} "${text}" in the image's /etc/${file}`);
      return found;
    };
    const uid = lookupId(user, 'passwd');
    let gid = uid;
    if (group !== undefined) gid = lookupId(group, 'group');
    else if (!/^\d+$/.test(user) && user !== 'root') gid = parsePasswd(readImageFile(lowerDirs, 'etc/passwd')).find((p) => p.name === user)!.gid;
    return { uid, gid };
  }

  private async stageWorker(workspace: StepWorkspace, lowerDirs: string[], actions: FsAction[]): Promise<{ path: string } & LayerTarResult> {
    const { runLayerWorker } = await layerCommit();
    const result = await runLayerWorker(this.mapping, {
      op: 'stage',
      staging: workspace.path('staging'),
      scratch: workspace.dir,
      out: workspace.tar,
      owner: { uid: this.mapping.uid, gid: this.mapping.gid },
      lowers: lowerDirs,
      actions,
    });
    return { path: workspace.tar, ...result! };
  }

  private async workdir(state: StageState, instruction: InstructionOf<'WORKDIR'>, path: string): Promise<void> {
    const dir = workdirPath(state.config.config?.WorkingDir, path);
    const user = state.config.config?.User || '';
    return this.step(state, instruction, { workdir: dir, user }, `WORKDIR ${dir}`, (c) => {
      c.WorkingDir = dir;
    }, async (workspace, lowerDirs) => {
      if (dir === '/') return undefined;
      try {
        if (LayerView.ofLayerDirs(lowerDirs).lookup(LayerView.ofLayerDirs(lowerDirs).resolve(dir, true))?.stats.isDirectory()) return undefined;
      } catch {
        // unreadable as this user: the worker, as root of the user namespace, decides
      }
      const owner = user ? this.owner(user, lowerDirs) : { uid: 0, gid: 0 };
      await mkdirStaging(workspace);
      return this.stageWorker(workspace, lowerDirs, [{ kind: 'mkdir', path: dir, owner }]);
    });
  }

  private async runCommand(state: StageState, instruction: InstructionOf<'RUN'>): Promise<void> {
    const c = state.config.config!;
    const { args, script } = runArgs(instruction, c.Shell);
    const mounts = parseRunMounts(instruction.mounts, this.expander(state.env));
    const network = instruction.network === undefined || instruction.network === 'default' ? this.options.network : instruction.network;
    if (network !== 'host' && network !== 'none') throw new StepError(`unsupported network mode "${instruction.network}": use default, none or host`);
    const env = new Map(state.env);
    if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
    const proxies = PROXY_ARGS.filter((k) => this.buildArgs.has(k) && !env.has(k));
    const envList = [...env].map(([k, v]) => `${k}=${v}`);
    const describe = { run: args, script, env: envList, user: c.User ?? '', cwd: c.WorkingDir ?? '', network, mounts: mounts.map((m) => m.describe) };
    return this.step(state, instruction, describe, `RUN ${args.join(' ')} # buildkit`, () => {}, async (workspace, lowerDirs) => {
      const user: ResolvedUser = resolveUser(c.User || 'root', parsePasswd(readImageFile(lowerDirs, 'etc/passwd')), parseGroup(readImageFile(lowerDirs, 'etc/group')));
      const cacheDirs = mounts.map((m) => ({ path: m.cacheDir(this.store.root), owner: m.owner, mode: m.mode }));
      if (cacheDirs.length) await (await layerCommit()).runLayerWorker(this.mapping, { op: 'mkdirs', dirs: cacheDirs });
      const { runStep } = await import('./run-step.js');
      const binds = mounts.map((m) => ({ source: m.cacheDir(this.store.root), destination: m.target, readonly: false }));
      if (script) {
        // As BuildKit: a lone heredoc with a #! line is a script, run by its interpreter from /dev/pipes.
        const { writeFileSync } = await import('node:fs');
        writeFileSync(workspace.path('script'), script.content, { mode: 0o755 });
        binds.push({ source: workspace.path('script'), destination: args[0], readonly: true });
      }
      const output = this.progress.openOutput(workspace.path('output.log'));
      let result: Awaited<ReturnType<typeof runStep>> | undefined;
      try {
        result = await runStep(this.mapping, await this.storageDriver(), workspace, {
          lowerDirs,
          args,
          env: [...envList, ...proxies.map((k) => `${k}=${this.buildArgs.get(k)}`)],
          cwd: c.WorkingDir || '/',
          user,
          network,
          mounts: binds,
          output: output.fd,
        });
      } finally {
        output.close(result?.exitCode !== 0); // a failed step's output is shown even when quiet
      }
      const { exitCode, layer } = result;
      if (exitCode !== 0) throw new StepError(`the command exited with status ${exitCode}`);
      return layer;
    });
  }

  private async storageDriver(): Promise<StorageDriver> {
    const [{ selectDriver }, { readSettings }] = await Promise.all([import('../storage/driver.js'), import('../settings/settings.js')]);
    this.driver ??= await selectDriver(readSettings().storage, this.store.root, this.mapping);
    return this.driver;
  }

  private async copy(stage: Stage, state: StageState, instruction: InstructionOf<'COPY' | 'ADD'>, expand: (w: string) => string): Promise<void> {
    const c = state.config.config!;
    const sources = instruction.sources.map(expand);
    const dest = destinationPath(c.WorkingDir, expand(instruction.dest));
    const chown = instruction.chown === undefined ? undefined : expand(instruction.chown);
    const mode = instruction.chmod === undefined ? undefined : parseChmod(expand(instruction.chmod));
    const from = this.copyFrom(instruction);
    const heredocs = instruction.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandWord(chompHeredoc(h.content, h.chomp), (n) => state.env.get(n), { skipQuotes: true }) : chompHeredoc(h.content, h.chomp) }));
    const urls = sources.filter(isUrl);
    const local = sources.filter((s) => !isUrl(s));
    const checksum = instruction.checksum === undefined ? undefined : expand(instruction.checksum);
    if (urls.length && instruction.kind === 'COPY') throw new StepError("source can't be a URL for COPY (use ADD)");
    if (checksum !== undefined && (sources.length !== 1 || !urls.length)) throw new StepError('--checksum needs exactly one http(s) source');
    let sourceLayers: () => Promise<string[]>;
    let sourceKey: unknown;
    let keepOwner = false;
    // --exclude patterns work like more lines of the ignore file, for this instruction only.
    const exclude = instruction.exclude.map(expand);
    let ignore: string[] | undefined = exclude.length ? exclude : undefined;
    const sourceStage = from === undefined ? undefined : this.copySourceStage(stage, instruction, from);
    if (sourceStage) {
      const result = this.results.get(sourceStage.index)!;
      sourceKey = { stage: result.key };
      keepOwner = true;
      sourceLayers = () => this.lowerDirs({ key: result.key, config: result.config, layers: result.layers, env: new Map(), cmdSet: false });
    } else if (from !== undefined) {
      if (urls.length) throw new StepError("a URL can't be combined with --from");
      const image = await resolveBaseImage(this.store, from);
      sourceKey = { image: image.id };
      keepOwner = true;
      sourceLayers = () => this.store.layerDirs(image, this.mapping);
    } else {
      ignore = [...this.context.ignorePatterns, ...exclude];
      const hashed = hashContextSources(this.context, local, ignore);
      const missing = hashed.missing.filter((s) => !hasWildcards(s));
      if (missing.length) {
        throw new StepError(`${missing.map((m) => `"${m}"`).join(', ')}: not found in the build context${this.context.ignorePatterns.length ? ' (or excluded by its ignore file)' : ''}`);
      }
      sourceKey = { context: hashed.digest };
      sourceLayers = async () => [this.context.dir];
    }
    // A URL with --checksum is known by it; without one it has to be downloaded to be known.
    let downloads: StepWorkspace | undefined;
    const urlKeys: string[] = [];
    try {
      if (urls.length && checksum === undefined) {
        downloads = createWorkspace(this.store.root);
        const { download } = await import('./download.js');
        for (const url of urls) urlKeys.push((await download(url, downloads.dir)).digest);
      }
      return await this.copyStep(state, instruction, { sources, local, urls, checksum, urlKeys, downloads, heredocs, dest, chown, mode, keepOwner, ignore, sourceKey, sourceLayers });
    } finally {
      if (downloads) await removeWorkspace(this.mapping, downloads);
    }
  }

  private async copyStep(state: StageState, instruction: InstructionOf<'COPY' | 'ADD'>, p: CopyPlan): Promise<void> {
    const { sources, local, urls, checksum, heredocs, dest, chown, mode, keepOwner, ignore, sourceLayers } = p;
    const describe = { [instruction.kind]: sources, heredocs, dest, chown, mode, source: p.sourceKey, urls: checksum ?? p.urlKeys, exclude: ignore };
    const history = `${instruction.kind}${chown ? ` --chown=${chown}` : ''}${mode !== undefined ? ` --chmod=${mode.toString(8)}` : ''} ${[...sources, ...heredocs.map((h) => `<<${h.name}`)].join(' ')} ${dest} # buildkit`;
    return this.step(state, instruction, describe, history, () => {}, async (workspace, lowerDirs) => {
      const owner = chown === undefined ? undefined : this.owner(chown, lowerDirs);
      const actions: FsAction[] = [];
      if (local.length) {
        actions.push({ kind: 'copy', sourceLayers: await sourceLayers(), ignore, sources: local, dest, owner, keepOwner: keepOwner && !owner, mode, unpack: instruction.kind === 'ADD', multiple: sources.length > 1 });
      }
      if (urls.length) {
        const { download, downloadName } = await import('./download.js');
        const dir = p.downloads?.dir ?? workspace.path('downloads');
        if (!p.downloads) {
          await (await import('node:fs/promises')).mkdir(dir);
          for (const url of urls) await download(url, dir, checksum);
        }
        actions.push({ kind: 'copy', sourceLayers: [dir], sources: urls.map(downloadName), dest, owner, keepOwner: false, mode, multiple: sources.length > 1 });
      }
      for (const heredoc of heredocs) {
        const target = dest.endsWith('/') ? `${dest}${heredoc.name}` : sources.length + heredocs.length > 1 ? `${dest}/${heredoc.name}` : dest;
        actions.push({ kind: 'write', dest: target, content: heredoc.content, owner, mode });
      }
      await mkdirStaging(workspace);
      return this.stageWorker(workspace, lowerDirs, actions);
    });
  }
}

interface CopyPlan {
  sources: string[];
  local: string[];
  urls: string[];
  checksum?: string;
  /** Content digests of URLs downloaded to compute the key (no --checksum). */
  urlKeys: string[];
  downloads?: StepWorkspace;
  heredocs: { name: string; content: string }[];
  dest: string;
  chown?: string;
  mode?: number;
  keepOwner: boolean;
  ignore?: string[];
  sourceKey: unknown;
  sourceLayers: () => Promise<string[]>;
}

async function mkdirStaging(workspace: StepWorkspace): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(workspace.path('staging'));
}

function chompHeredoc(content: string, chomp: boolean): string {
  return chomp ? content.replace(/^\t+/gm, '') : content;
}

/** A RUN's argv, with BuildKit's heredoc rules: a lone heredoc is the script, others go to the shell as written. */
function runArgs(instruction: InstructionOf<'RUN'>, shell: readonly string[] | undefined): { args: string[]; script?: { content: string } } {
  const { command, heredocs } = instruction;
  if (!heredocs.length || !('shell' in command)) return { args: commandArgs(command, shell) };
  if (heredocs.length === 1 && /^\d*<<-?\s*\S+$/.test(command.shell.trim())) {
    const content = chompHeredoc(heredocs[0].content, heredocs[0].chomp);
    if (content.startsWith('#!')) return { args: [`/dev/pipes/${heredocs[0].name}`], script: { content } };
    return { args: commandArgs({ shell: content }, shell) };
  }
  return { args: commandArgs({ shell: [command.shell, ...heredocs.map((h) => `${h.content}${h.name}`)].join('\n') }, shell) };
}

/** Builds the image a Dockerfile describes and stores it under the tags given. */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const context = openContext(options.context, options.file);
  let text: string;
  try {
    const { readFileSync } = await import('node:fs');
    text = readFileSync(context.dockerfile, 'utf8');
  } catch (error) {
    throw new DevboxError(`cannot read ${context.dockerfileLabel}: ${describeError(error)}`, { exitCode: 125 });
  }
  let plan: BuildPlan;
  try {
    plan = parseBuildPlan(text);
  } catch (error) {
    if (error instanceof InstructionError) {
      throw new DevboxError(`${context.dockerfileLabel}:${error.line}: ${error.instruction ? `${error.instruction}: ` : ''}${error.message}`, { exitCode: 1 });
    }
    throw error;
  }
  const store = ImageStore.open();
  const { mapping, warning } = resolveIdMapping();
  if (warning) process.stderr.write(`devbox: warning: ${warning}\n`);
  await removeStaleWorkspaces(store.root, mapping);
  return new Build(store, mapping, context, plan, options).run();
}
