/**
 * `devbox build`: a Dockerfile and its context → an image in the store. Only the stages the target needs are
 * built, all at once: a stage waits for the stage it is FROM before it starts, and for a stage it copies
 * from only at that COPY, so stages that do not need each other run at the same time (as BuildKit's; their
 * output is shown one stage after the other, stage-output.ts). Each instruction is a step whose result (the
 * image config and layers after it) is cached under a key chained from its parent's (cache.ts), so a
 * rebuild with nothing changed only parses, hashes the COPY sources and reads one small cache entry per
 * step. Steps that change files (RUN, COPY, ADD, WORKDIR) get a workspace, produce a layer tar, and commit
 * it with their cache entry. Steps missing locally may come from build caches in registries
 * (registry-cache.ts).
 */
import { createHash } from 'node:crypto';
import { readBuildCacheEntry, type BuildCacheEntry } from '../image/build-cache-store.js';
import { DEFAULT_PATH, hostArchitecture, MediaType, type Descriptor, type ImageConfig } from '../image/oci.js';
import { normalizedName, parseReference } from '../image/reference.js';
import { ImageStore, type StoredImage } from '../image/store.js';
import type { StorageDriver } from '../storage/driver.js';
import { PROXY_VARIABLES, proxyEnvironment } from '../settings/proxy.js';
import { resolveIdMapping, type IdMapping, type UsernsRequest } from '../userns/idmap.js';
import { describeError, DevboxError } from '../util/errors.js';
import { resolveBaseImage } from './base-image.js';
import { stepKey } from './cache.js';
import { planConfigStep, type ArgScope } from './config-steps.js';
import { openContext, type BuildContext } from './context.js';
import { expandWord, ExpansionError } from './expand.js';
import { planCopy, planRun, planWorkdir, type CopySource, type FileStepContext } from './file-steps.js';
import { InstructionError, parseBuildPlan, parseTrigger, type BuildPlan, type Instruction, type InstructionOf, type Stage } from './instructions.js';
import { createProgress, type Progress, type ProgressMode } from '../util/progress.js';
import type { CacheTo } from './cache-manifest.js';
import type { RegistryCacheUse } from './registry-cache.js';
import { StageOutputs, type StageProgress } from './stage-output.js';
import { envMap, type LayerTar, type StageState, type StepPlan } from './stage-state.js';
import { StepError } from './step-error.js';
import { createWorkspace, removeStaleWorkspaces, removeWorkspace, type StepWorkspace } from './workspace.js';
import { warn } from '../util/warn.js';
import { abbreviate } from '../util/format.js';

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
  /** `KEY=VALUE` labels of the image built (docker build --label): set on the final image only. */
  labels: string[];
  /** Image references (normalized, as devbox.lock keys them) → the `REPOSITORY@DIGEST` to use instead. */
  pinnedImages?: ReadonlyMap<string, string>;
  /** Build caches in registries to take steps from (`--cache-from type=registry,ref=REF`), in order. */
  cacheFrom?: string[];
  /** A build cache in a registry to write this build's steps to (`--cache-to type=registry,ref=REF[,mode=min|max]`). */
  cacheTo?: CacheTo;
  /** The id map the steps run in and base images are unpacked for: a container's default unless given (a project's environment). */
  userns?: UsernsRequest;
  /**
   * Another build's that runs beside this one (a project's services beside its environment): this build's
   * output is kept until it settles, so that the two are shown one after the other.
   */
  showAfter?: Promise<unknown>;
  /** Stops the build before its next step (the build beside it failed). */
  signal?: AbortSignal;
}

/** What the stage graph needs: which Dockerfile, its arguments, its target. */
export type BuildGraphOptions = Pick<BuildOptions, 'context' | 'file' | 'buildArgs' | 'target'>;

export interface BuildResult {
  id: string;
  names: string[];
}

/** ARGs every build has without declaring them (Docker's predefined proxy args): RUN sees them, the cache does not. */
const PROXY_ARGS = PROXY_VARIABLES;

interface StageResult {
  key: string;
  config: ImageConfig;
  layers: Descriptor[];
}

/** A failure of one instruction: `Dockerfile:LINE: INSTRUCTION: why`. */
class DockerfileError extends DevboxError {}

function shortInstruction(instruction: Instruction): string {
  return abbreviate(instruction.node.original.replace(/\s+/g, ' '));
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

/** --label values as Docker reads them: KEY=VALUE, or KEY alone for an empty value. */
function parseLabels(labels: readonly string[]): Record<string, string> {
  const pairs = labels.map((label) => {
    const eq = label.indexOf('=');
    if (eq === 0) throw new DevboxError(`invalid --label "${label}"`, { fix: 'use --label KEY=VALUE', kind: 'usage' });
    return eq < 0 ? ([label, ''] as const) : ([label.slice(0, eq), label.slice(eq + 1)] as const);
  });
  return Object.fromEntries(pairs);
}

/** NAME[:TAG] for -t, normalized as every image name in the store is (`app` → docker.io/library/app:latest). */
function tagName(tag: string): string {
  const ref = parseReference(tag);
  if (ref.digest) throw new DevboxError(`invalid tag "${tag}": give NAME[:TAG], the digest comes from the content`, { kind: 'usage' });
  return normalizedName(ref);
}

/** A Dockerfile's stages after ARG expansion: which ones the target needs, and what their FROM and COPY --from name. */
class StageGraph {
  protected readonly metaEnv = new Map<string, string>();
  protected readonly buildArgs = new Map<string, string>();
  protected readonly usedArgs = new Set<string>();

  constructor(
    protected readonly context: BuildContext,
    protected readonly plan: BuildPlan,
    protected readonly graphOptions: BuildGraphOptions,
  ) {
    for (const arg of graphOptions.buildArgs) {
      const eq = arg.indexOf('=');
      if (eq === 0) throw new DevboxError(`invalid --build-arg "${arg}"`, { fix: 'use --build-arg KEY=VALUE', kind: 'usage' });
      if (eq > 0) this.buildArgs.set(arg.slice(0, eq), arg.slice(eq + 1));
      else if (process.env[arg] !== undefined) this.buildArgs.set(arg, process.env[arg]!);
    }
    // Behind a proxy, RUN steps need it as the host has it (podman's --http-proxy=true, docker's config.json proxies).
    for (const [name, value] of Object.entries(proxyEnvironment())) if (!this.buildArgs.has(name)) this.buildArgs.set(name, value);
  }

  protected fail(instruction: Instruction, message: string, fix?: string): DockerfileError {
    return new DockerfileError(`${this.context.dockerfileLabel}:${instruction.node.startLine}: ${shortInstruction(instruction)}: ${message}`, { fix });
  }

  protected expander(env: ReadonlyMap<string, string>): (word: string) => string {
    return (word) => expandWord(word, (name) => env.get(name), { escape: this.plan.escape });
  }

  /** Global ARGs (before the first FROM) with their --build-arg values, and BuildKit's platform ARGs. */
  protected resolveMetaArgs(): void {
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
  protected fromTarget(stage: Stage): { stage: Stage } | { scratch: true } | { image: string } {
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
  protected copySourceStage(stage: Stage, instruction: Instruction, from: string): Stage | undefined {
    const named = this.plan.stages.find((s) => s.name === from.toLowerCase()) ?? (/^\d+$/.test(from) ? this.plan.stages[Number(from)] : undefined);
    if (!named) {
      if (/^\d+$/.test(from)) throw this.fail(instruction, `there is no stage ${from}`);
      return undefined;
    }
    if (named.index >= stage.index) throw this.fail(instruction, `cannot copy from stage "${from}": it needs to be defined before the current stage`);
    return named;
  }

  protected copyFrom(instruction: Instruction & { from?: string }): string | undefined {
    if (!instruction.from) return undefined;
    try {
      return this.expander(this.metaEnv)(instruction.from);
    } catch (error) {
      throw this.fail(instruction, (error as Error).message);
    }
  }

  /** The stages the target needs, in file order. */
  protected neededStages(): Stage[] {
    const { stages } = this.plan;
    const wanted = this.graphOptions.target;
    let target = stages[stages.length - 1];
    if (wanted !== undefined) {
      const found = stages.find((s) => s.name === wanted.toLowerCase());
      if (!found)
        throw new DevboxError(`target stage "${wanted}" could not be found`, {
          fix: `stages: ${stages.map((s) => s.name ?? `#${s.index}`).join(', ')}`,
          kind: 'usage',
        });
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

  /** The images (not stages, not scratch) the needed stages' FROM and COPY --from name, each once, in file order. */
  imageReferences(): string[] {
    this.resolveMetaArgs();
    const refs = new Set<string>();
    for (const stage of this.neededStages()) {
      const from = this.fromTarget(stage);
      if ('image' in from) refs.add(from.image);
      for (const instruction of stage.instructions) {
        const source = instruction.kind === 'COPY' ? this.copyFrom(instruction) : undefined;
        if (source !== undefined && !this.copySourceStage(stage, instruction, source)) refs.add(source);
      }
    }
    return [...refs];
  }
}

/** A stage being built: the stage, and where its progress goes. */
interface StageRun {
  stage: Stage;
  progress: StageProgress;
}

/** A stage stopped because another one failed (that one's error is what the build reports). */
class StageStopped extends Error {}

class Build extends StageGraph {
  readonly progress: Progress;
  /** Each needed stage's build, by stage index, all started at once (see the top of this file). */
  private readonly stageBuilds = new Map<number, Promise<StageResult>>();
  /** The first failure of any stage: the others stop before their next step. */
  private failure?: unknown;
  private outputs?: StageOutputs;
  private driver?: Promise<StorageDriver>;
  /** Base images by reference, each resolved (or pulled) once however many stages name it. */
  private readonly baseImages = new Map<string, Promise<StoredImage>>();
  private readonly labels: Record<string, string>;
  /** Set when the build reads or writes a build cache in a registry (loaded only then). */
  private registryCache?: RegistryCacheUse;

  constructor(
    private readonly store: ImageStore,
    private readonly mapping: IdMapping,
    context: BuildContext,
    plan: BuildPlan,
    private readonly options: BuildOptions,
  ) {
    super(context, plan, options);
    this.labels = parseLabels(options.labels);
    this.progress = createProgress(options.progress);
  }

  /** A FROM or COPY --from image: devbox.lock's pinned digest when it has one for the reference. */
  private baseImage(ref: string, progress: Progress): Promise<StoredImage> {
    let image = this.baseImages.get(ref);
    if (!image) {
      // With a build cache to read, the steps may never need the base image's files: its layers wait until then.
      const deferUnpack = !this.options.noCache && Boolean(this.options.cacheFrom?.length);
      image = resolveBaseImage(this.store, ref, { pins: this.options.pinnedImages, progress, deferUnpack, mapping: this.mapping });
      this.baseImages.set(ref, image);
    }
    return image;
  }

  async run(): Promise<BuildResult> {
    this.resolveMetaArgs();
    const stages = this.neededStages();
    const cacheFrom = this.options.noCache ? [] : (this.options.cacheFrom ?? []);
    if (cacheFrom.length || this.options.cacheTo) {
      const { RegistryCacheUse } = await import('./registry-cache.js');
      this.registryCache = new RegistryCacheUse(this.store, cacheFrom, this.progress);
    }
    const outputs = new StageOutputs(
      this.progress,
      process.stderr,
      stages.reduce((n, s) => n + 1 + s.instructions.length, 0),
    );
    this.outputs = outputs;
    if (this.options.showAfter) outputs.holdUntil(this.options.showAfter);
    // Each stage's promise is in the map before any stage looks for it: a stage only waits for earlier ones.
    for (const stage of stages) this.stageBuilds.set(stage.index, this.buildStage({ stage, progress: outputs.stage() }));
    // Every stage has settled before the build reports, so nothing of a failed build goes on after its error.
    await Promise.allSettled(this.stageBuilds.values());
    if (this.failure !== undefined) throw this.failure;
    this.options.signal?.throwIfAborted();
    const unused = [...this.buildArgs.keys()].filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
    if (unused.length) warn(`build arguments not consumed by any ARG: ${unused.join(', ')}`);
    const last = stages[stages.length - 1];
    const result = await this.commit(await this.stageResult(last));
    await this.registryCache?.keepImported();
    if (this.options.cacheTo) await this.registryCache!.export(this.options.cacheTo, this.imageStages(last));
    return result;
  }

  /** The result of a stage this build has started. */
  private stageResult(stage: Stage): Promise<StageResult> {
    return this.stageBuilds.get(stage.index)!;
  }

  /** The stages the final image is made of: the last one and those it is FROM, down to an image. */
  private imageStages(stage: Stage): Set<number> {
    const stages = new Set<number>();
    for (let next: Stage | undefined = stage; next; ) {
      stages.add(next.index);
      const from = this.fromTarget(next);
      next = 'stage' in from ? from.stage : undefined;
    }
    return stages;
  }

  private async commit(final: StageResult): Promise<BuildResult> {
    const names = this.options.tags.map(tagName);
    if (Object.keys(this.labels).length) {
      // On the final image only, as Docker's --label: the steps' cache entries stay shared with unlabelled builds.
      const config = cloneConfig(final.config);
      config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...this.labels } };
      final = { ...final, config };
    }
    // The image id is the config's digest: when that image already has these names, there is nothing to write.
    const id = `sha256:${createHash('sha256').update(JSON.stringify(final.config)).digest('hex')}`;
    const existing = this.store.readIndex().images[id];
    if (!existing || !names.every((n) => existing.names.includes(n))) {
      await this.registryCache?.fetchLayers(final.layers, this.progress);
      const { commitImage } = await import('../image/manifest-writer.js');
      await this.store.withLock(() => commitImage(this.store, final.config, final.layers, names));
    }
    return { id, names };
  }

  private async buildStage(run: StageRun): Promise<StageResult> {
    try {
      return await this.buildStageSteps(run);
    } catch (error) {
      if (!(error instanceof StageStopped)) this.failure ??= error;
      throw error;
    } finally {
      run.progress.finish();
    }
  }

  /** Another stage has failed: this one goes no further. */
  private checkNotStopped(): void {
    if (this.failure !== undefined || this.options.signal?.aborted) throw new StageStopped();
  }

  private async buildStageSteps(run: StageRun): Promise<StageResult> {
    const { stage } = run;
    const from = this.fromTarget(stage);
    // A stage FROM another starts when that one is done (COPY --from waits only when it gets there).
    const base = 'stage' in from ? await this.stageResult(from.stage) : undefined;
    this.checkNotStopped();
    run.progress.step(0, 0, stage.from.node.original);
    let state: StageState;
    const platform = stage.from.platform;
    if ('stage' in from) {
      const { key, config, layers } = base!;
      state = { key: stepKey(key, { from: 'stage' }), config: cloneConfig(config), layers: [...layers], env: new Map(), cmdSet: false };
    } else if ('scratch' in from) {
      state = { key: stepKey('', { from: 'scratch' }), config: scratchConfig(), layers: [], env: new Map(), cmdSet: false };
    } else {
      let image: StoredImage;
      try {
        image = await this.baseImage(from.image, run.progress);
      } catch (error) {
        throw this.fail(stage.from, (error as DevboxError).message, (error as DevboxError).fix);
      }
      state = { key: stepKey('', { from: image.id }), config: baseConfig(image.config), layers: [...image.manifest.layers], env: new Map(), cmdSet: false };
    }
    if (platform !== undefined) {
      const wanted = this.expander(this.metaEnv)(platform);
      if (wanted && wanted !== `linux/${hostArchitecture()}`)
        warn(`${this.context.dockerfileLabel}:${stage.from.node.startLine}: --platform=${wanted} ignored: devbox builds for linux/${hostArchitecture()}`);
    }
    state.config.config ??= {};
    const config = state.config.config;
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
    this.outputs!.addSteps(triggers.length);
    for (const instruction of [...triggers, ...stage.instructions]) {
      try {
        await this.dispatch(run, state, instruction);
      } catch (error) {
        if (error instanceof DockerfileError || error instanceof StageStopped) throw error;
        if (error instanceof InstructionError || error instanceof ExpansionError || error instanceof StepError) {
          throw this.fail(instruction, error.message);
        }
        if (error instanceof DevboxError) throw this.fail(instruction, error.message, error.fix);
        throw error;
      }
    }
    return { key: state.key, config: state.config, layers: state.layers };
  }

  /** Layer directories of a stage's image, unpacked for this id map (fetched first when a registry cache has them). */
  private async lowerDirs(state: { config: ImageConfig; layers: Descriptor[] }, progress: Progress): Promise<string[]> {
    await this.registryCache?.fetchLayers(state.layers, progress);
    const manifest = {
      schemaVersion: 2 as const,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: '', size: 0 },
      layers: state.layers,
    };
    return this.store.layerDirs({ id: '', names: [], manifestDigest: '', manifest, config: state.config }, this.mapping);
  }

  /** One step: taken from the cache when its key is there, else done and recorded. */
  private async step(run: StageRun, state: StageState, instruction: Instruction, plan: StepPlan): Promise<void> {
    this.checkNotStopped();
    const key = stepKey(state.key, plan.describe);
    run.progress.step(0, 0, instruction.node.original);
    const cached = this.options.noCache ? undefined : (readBuildCacheEntry(this.store.root, key) ?? (await this.registryCache?.lookup(key, run.progress)));
    if (cached) {
      this.apply(run, state, key, cached);
      run.progress.cached();
      return;
    }
    const started = Date.now();
    const config = cloneConfig(state.config);
    config.config ??= {};
    plan.edit?.(config.config, config);
    let workspace: StepWorkspace | undefined;
    try {
      let tar: LayerTar | undefined;
      if (plan.produce) {
        workspace = createWorkspace(this.store.root);
        tar = await plan.produce(workspace, await this.lowerDirs(state, run.progress));
      }
      // Loaded only by a step that runs: a rebuild with nothing to do should cost little more than Node.js.
      const { commitStep } = await import('./layer-commit.js');
      const entry = await commitStep(this.store, this.mapping, key, tar, (layer) => {
        const created = new Date().toISOString();
        config.created = created;
        config.history = [...(config.history ?? []), { created, created_by: plan.history, comment: 'devbox build', ...(layer ? {} : { empty_layer: true }) }];
        if (layer) config.rootfs.diff_ids = [...config.rootfs.diff_ids, layer.digest];
        return { config, layers: layer ? [...state.layers, layer] : state.layers };
      });
      this.apply(run, state, key, entry);
    } finally {
      if (workspace) await removeWorkspace(this.mapping, workspace);
    }
    run.progress.done((Date.now() - started) / 1000);
  }

  private apply(run: StageRun, state: StageState, key: string, entry: BuildCacheEntry): void {
    this.registryCache?.record(run.stage.index, state.key, key, entry);
    state.key = key;
    state.config = entry.config;
    state.layers = entry.layers;
  }

  private fileStepContext(progress: Progress): FileStepContext {
    return {
      store: this.store,
      mapping: this.mapping,
      progress,
      context: this.context,
      network: this.options.network,
      proxyEnv: (env) => PROXY_ARGS.filter((k) => this.buildArgs.has(k) && !env.has(k)).map((k) => `${k}=${this.buildArgs.get(k)}`),
      storageDriver: () => {
        this.driver ??= Promise.all([import('../storage/driver.js'), import('../settings/settings.js')]).then(([{ selectDriver }, { readSettings }]) =>
          selectDriver(readSettings().storage, this.store.root, this.mapping),
        );
        return this.driver;
      },
    };
  }

  /** What COPY --from names: the context (no --from), an earlier stage's file system, or an image's. */
  private async copySource(run: StageRun, instruction: InstructionOf<'COPY' | 'ADD'>): Promise<CopySource> {
    const from = this.copyFrom(instruction);
    if (from === undefined) return { context: true };
    const sourceStage = this.copySourceStage(run.stage, instruction, from);
    if (sourceStage) {
      const result = await this.stageResult(sourceStage);
      return { key: { stage: result.key }, layers: () => this.lowerDirs(result, run.progress) };
    }
    const image = await this.baseImage(from, run.progress);
    return { key: { image: image.id }, layers: () => this.store.layerDirs(image, this.mapping) };
  }

  private async dispatch(run: StageRun, state: StageState, instruction: Instruction): Promise<void> {
    const expand = this.expander(state.env);
    const args: ArgScope = {
      buildArg: (name) => this.buildArgs.get(name),
      globalArg: (name) => this.metaEnv.get(name),
      declared: (name) => this.usedArgs.add(name),
    };
    let plan = planConfigStep(instruction, state, expand, args, this.plan.escape);
    if (!plan) {
      const ctx = this.fileStepContext(run.progress);
      switch (instruction.kind) {
        case 'WORKDIR':
          plan = planWorkdir(ctx, state, instruction, expand);
          break;
        case 'RUN':
          plan = planRun(ctx, state, instruction, expand);
          break;
        case 'COPY':
        case 'ADD':
          plan = await planCopy(ctx, state, instruction, expand, await this.copySource(run, instruction));
          break;
        default:
          throw new InstructionError(`${instruction.kind} inside a stage`, instruction.node.startLine);
      }
    }
    try {
      await this.step(run, state, instruction, plan);
    } finally {
      await plan.cleanup?.();
    }
  }
}

/** The Dockerfile's context and parsed plan; errors at Dockerfile:LINE. */
async function readBuildPlan(options: BuildGraphOptions): Promise<{ context: BuildContext; plan: BuildPlan }> {
  const context = openContext(options.context, options.file);
  let text: string;
  try {
    const { readFileSync } = await import('node:fs');
    text = readFileSync(context.dockerfile, 'utf8');
  } catch (error) {
    throw new DevboxError(`cannot read ${context.dockerfileLabel}: ${describeError(error)}`);
  }
  try {
    return { context, plan: parseBuildPlan(text) };
  } catch (error) {
    if (error instanceof InstructionError) {
      throw new DevboxError(`${context.dockerfileLabel}:${error.line}: ${error.instruction ? `${error.instruction}: ` : ''}${error.message}`);
    }
    throw error;
  }
}

/** The images a build of this Dockerfile would start from or copy from (what devbox.lock pins); nothing is pulled. */
export async function buildImageReferences(options: BuildGraphOptions): Promise<string[]> {
  const { context, plan } = await readBuildPlan(options);
  return new StageGraph(context, plan, options).imageReferences();
}

/** Builds the image a Dockerfile describes and stores it under the tags given. */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const { context, plan } = await readBuildPlan(options);
  const store = ImageStore.open();
  const { mapping, warning } = resolveIdMapping(undefined, options.userns);
  if (warning) warn(`${warning}`);
  await removeStaleWorkspaces(store.root, mapping);
  const build = new Build(store, mapping, context, plan, options);
  try {
    return await build.run();
  } finally {
    build.progress.stop();
  }
}
