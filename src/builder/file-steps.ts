/**
 * Steps that change files: WORKDIR (creates the directory), RUN (a command in a sandbox) and COPY/ADD (files
 * from the context, a stage, an image or a URL). Each is planned here (expanded arguments, cache key,
 * history) and, when not cached, produces its layer tar: RUN through run-step.ts, the others through the
 * layer worker's staging directory (fs-actions.ts). Modules only a running step needs are loaded then.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { DEFAULT_PATH } from '../image/oci.js';
import { readImageFile } from '../image/image-files.js';
import { parseGroup, parsePasswd, resolveUser } from '../image/passwd.js';
import type { ImageStore } from '../image/store.js';
import type { StorageDriver } from '../storage/driver.js';
import { commandLineProblem } from '../runtime/spec.js';
import type { IdMapping } from '../userns/idmap.js';
import { commandArgs, destinationPath, parseChmod, workdirPath } from './config-edits.js';
import { hashContextSources, type BuildContext } from './context.js';
import { expandWord } from './expand.js';
import type { FsAction, Owner } from './fs-actions.js';
import type { InstructionOf } from './instructions.js';
import { LayerView } from '../image/layer-view.js';
import type { Progress } from '../util/progress.js';
import { parseRunMounts, withCacheMountLocks } from './run-mounts.js';
import { hasWildcards, isUrl } from './sources.js';
import type { LayerTar, StageState, StepPlan } from './stage-state.js';
import { StepError } from './step-error.js';
import { createWorkspace, removeWorkspace, type StepWorkspace } from './workspace.js';

const layerCommit = () => import('./layer-commit.js');

export interface FileStepContext {
  store: ImageStore;
  mapping: IdMapping;
  progress: Progress;
  context: BuildContext;
  /** The build's --network: what a RUN gets by default. */
  network: 'host' | 'none';
  /** Docker's predefined proxy ARGs given with --build-arg: a RUN sees them without an ARG. */
  proxyEnv(env: ReadonlyMap<string, string>): string[];
  storageDriver(): Promise<StorageDriver>;
}

/** Where a COPY reads from: the build context, or the file system of an earlier stage or an image. */
export type CopySource = { context: true } | { key: unknown; layers: () => Promise<string[]> };

/** uid:gid for --chown or a WORKDIR's owner, from the image's /etc/passwd and /etc/group (BuildKit's rules). */
function resolveOwner(spec: string, lowerDirs: readonly string[]): Owner {
  const [user, group] = spec.split(':', 2);
  const lookup = (text: string, file: 'passwd' | 'group'): { id: number; gid?: number } => {
    if (/^\d+$/.test(text)) return { id: Number(text) };
    if (text === 'root') return { id: 0, gid: 0 };
    const content = readImageFile(lowerDirs, `etc/${file}`);
    const found = file === 'passwd' ? parsePasswd(content).find((p) => p.name === text) : parseGroup(content).find((g) => g.name === text);
    if (!found) throw new StepError(`unable to find ${file === 'passwd' ? 'user' : 'group'} "${text}" in the image's /etc/${file}`);
    return 'uid' in found ? { id: found.uid, gid: found.gid } : { id: found.gid };
  };
  const owner = lookup(user, 'passwd');
  // A uid alone means the same gid; a name alone, that user's primary group.
  return { uid: owner.id, gid: group !== undefined ? lookup(group, 'group').id : (owner.gid ?? owner.id) };
}

async function stageWorker(ctx: FileStepContext, workspace: StepWorkspace, lowerDirs: string[], actions: FsAction[]): Promise<LayerTar> {
  await mkdir(workspace.path('staging'));
  const { runLayerWorker } = await layerCommit();
  const result = await runLayerWorker(ctx.mapping, {
    op: 'stage',
    staging: workspace.path('staging'),
    scratch: workspace.dir,
    out: workspace.tar,
    owner: { uid: ctx.mapping.uid, gid: ctx.mapping.gid },
    lowers: lowerDirs,
    actions,
    mapping: ctx.mapping,
  });
  return { path: workspace.tar, dir: workspace.path('staging'), ...result! };
}

export function planWorkdir(ctx: FileStepContext, state: StageState, instruction: InstructionOf<'WORKDIR'>, expand: (word: string) => string): StepPlan {
  const dir = workdirPath(state.config.config?.WorkingDir, expand(instruction.path));
  const user = state.config.config?.User || '';
  return {
    describe: { workdir: dir, user },
    history: `WORKDIR ${dir}`,
    edit: (c) => {
      c.WorkingDir = dir;
    },
    produce: async (workspace, lowerDirs) => {
      if (dir === '/') return undefined;
      try {
        const view = LayerView.ofLayerDirs(lowerDirs);
        if (view.lookup(view.resolve(dir, true))?.stats.isDirectory()) return undefined;
      } catch {
        // unreadable as this user: the worker, as root of the user namespace, decides
      }
      const owner = user ? resolveOwner(user, lowerDirs) : { uid: 0, gid: 0 };
      return stageWorker(ctx, workspace, lowerDirs, [{ kind: 'mkdir', path: dir, owner }]);
    },
  };
}

function chompHeredoc(content: string, chomp: boolean): string {
  return chomp ? content.replace(/^\t+/gm, '') : content;
}

/** A RUN's argv, with BuildKit's heredoc rules: a lone heredoc is the script, others go to the shell as written. */
function runArgs(instruction: InstructionOf<'RUN'>, shell: readonly string[] | undefined): { args: string[]; script?: string } {
  const { command, heredocs } = instruction;
  if (!heredocs.length || !('shell' in command)) return { args: commandArgs(command, shell) };
  if (heredocs.length === 1 && /^\d*<<-?\s*\S+$/.test(command.shell.trim())) {
    const content = chompHeredoc(heredocs[0].content, heredocs[0].chomp);
    // A script with a #! line is run by its interpreter from /dev/pipes, as BuildKit does.
    if (content.startsWith('#!')) return { args: [`/dev/pipes/${heredocs[0].name}`], script: content };
    return { args: commandArgs({ shell: content }, shell) };
  }
  return { args: commandArgs({ shell: [command.shell, ...heredocs.map((h) => `${h.content}${h.name}`)].join('\n') }, shell) };
}

export function planRun(ctx: FileStepContext, state: StageState, instruction: InstructionOf<'RUN'>, expand: (word: string) => string): StepPlan {
  const c = state.config.config ?? {};
  const { args, script } = runArgs(instruction, c.Shell);
  const mounts = parseRunMounts(instruction.mounts, expand);
  const network = instruction.network === undefined || instruction.network === 'default' ? ctx.network : instruction.network;
  if (network !== 'host' && network !== 'none') throw new StepError(`unsupported network mode "${instruction.network}": use default, none or host`);
  const env = new Map(state.env);
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  const envList = [...env].map(([k, v]) => `${k}=${v}`);
  const tooLong = commandLineProblem({ args, env: envList });
  if (tooLong) throw new StepError(`${tooLong}: put the script in a file (COPY it, or a heredoc starting with #!)`);
  return {
    describe: { run: args, script, env: envList, user: c.User ?? '', cwd: c.WorkingDir ?? '', network, mounts: mounts.map((m) => m.describe) },
    history: `RUN ${args.join(' ')} # buildkit`,
    produce: async (workspace, lowerDirs) => {
      const user = resolveUser(c.User || '', parsePasswd(readImageFile(lowerDirs, 'etc/passwd')), parseGroup(readImageFile(lowerDirs, 'etc/group')));
      const binds = mounts.map((m) => ({ source: m.cacheDir(ctx.store.root), destination: m.target, readonly: false }));
      if (mounts.length) {
        const dirs = mounts.map((m) => ({ path: m.cacheDir(ctx.store.root), owner: m.owner, mode: m.mode }));
        await (await layerCommit()).runLayerWorker(ctx.mapping, { op: 'mkdirs', dirs });
      }
      if (script !== undefined) {
        await writeFile(workspace.path('script'), script, { mode: 0o755 });
        binds.push({ source: workspace.path('script'), destination: args[0], readonly: true });
      }
      const { runStep } = await import('./run-step.js');
      const output = ctx.progress.commandOutput(workspace.path('output.log'));
      let result: Awaited<ReturnType<typeof runStep>> | undefined;
      try {
        const driver = await ctx.storageDriver();
        result = await withCacheMountLocks(ctx.store.root, mounts, () =>
          runStep(ctx.mapping, driver, workspace, {
            lowerDirs,
            args,
            env: [...envList, ...ctx.proxyEnv(env)],
            cwd: c.WorkingDir || '/',
            user,
            network,
            mounts: binds,
            output: output.fd,
          }),
        );
      } finally {
        output.close(result?.exitCode !== 0); // a failed step's output is shown even when quiet
      }
      if (result.exitCode !== 0) throw new StepError(`the command exited with status ${result.exitCode}`);
      return result.layer;
    },
  };
}

export async function planCopy(
  ctx: FileStepContext,
  state: StageState,
  instruction: InstructionOf<'COPY' | 'ADD'>,
  expand: (word: string) => string,
  source: CopySource,
): Promise<StepPlan> {
  const c = state.config.config ?? {};
  const sources = instruction.sources.map(expand);
  const dest = destinationPath(c.WorkingDir, expand(instruction.dest));
  const chown = instruction.chown === undefined ? undefined : expand(instruction.chown);
  const mode = instruction.chmod === undefined ? undefined : parseChmod(expand(instruction.chmod));
  const heredocs = instruction.heredocs.map((h) => {
    const content = chompHeredoc(h.content, h.chomp);
    return { name: h.name, content: h.expand ? expandWord(content, (n) => state.env.get(n), { skipQuotes: true }) : content };
  });
  const urls = sources.filter(isUrl);
  const local = sources.filter((s) => !isUrl(s));
  const checksum = instruction.checksum === undefined ? undefined : expand(instruction.checksum);
  if (urls.length && instruction.kind === 'COPY') throw new StepError("source can't be a URL for COPY (use ADD)");
  if (checksum !== undefined && (sources.length !== 1 || !urls.length)) throw new StepError('--checksum needs exactly one http(s) source');
  if (urls.length && !('context' in source)) throw new StepError("a URL can't be combined with --from");
  // --exclude patterns work like more lines of the ignore file, for this instruction only.
  const exclude = instruction.exclude.map(expand);
  let ignore = exclude;
  let sourceKey: unknown;
  let sourceLayers: () => Promise<string[]>;
  if ('context' in source) {
    ignore = [...ctx.context.ignorePatterns, ...exclude];
    const hashed = hashContextSources(ctx.context, local, ignore);
    const missing = hashed.missing.filter((s) => !hasWildcards(s));
    if (missing.length) {
      const excluded = ignore.length ? ' (or excluded by its ignore file)' : '';
      throw new StepError(`${missing.map((m) => `"${m}"`).join(', ')}: not found in the build context${excluded}`);
    }
    sourceKey = { context: hashed.digest };
    sourceLayers = async () => [ctx.context.dir];
  } else {
    sourceKey = source.key;
    sourceLayers = source.layers;
  }
  // A URL with --checksum is known by it; without one it has to be downloaded to be known.
  let downloads: StepWorkspace | undefined;
  const urlDigests: string[] = [];
  if (urls.length && checksum === undefined) {
    downloads = createWorkspace(ctx.store.root);
    const { download } = await import('./download.js');
    try {
      for (const url of urls) urlDigests.push((await download(url, downloads.dir)).digest);
    } catch (error) {
      await removeWorkspace(ctx.mapping, downloads);
      throw error;
    }
  }
  const flags = `${chown ? ` --chown=${chown}` : ''}${mode !== undefined ? ` --chmod=${mode.toString(8)}` : ''}`;
  return {
    describe: { [instruction.kind]: sources, heredocs, dest, chown, mode, source: sourceKey, urls: checksum ?? urlDigests, exclude: ignore },
    history: `${instruction.kind}${flags} ${[...sources, ...heredocs.map((h) => `<<${h.name}`)].join(' ')} ${dest} # buildkit`,
    cleanup: async () => {
      if (downloads) await removeWorkspace(ctx.mapping, downloads);
    },
    produce: async (workspace, lowerDirs) => {
      const owner = chown === undefined ? undefined : resolveOwner(chown, lowerDirs);
      // Files from the context belong to root unless --chown; from a stage or image they keep their owner.
      const keepOwner = !('context' in source) && !owner;
      const multiple = sources.length > 1;
      const actions: FsAction[] = [];
      if (local.length) {
        actions.push({
          kind: 'copy',
          sourceLayers: await sourceLayers(),
          ignore,
          sources: local,
          dest,
          owner,
          keepOwner,
          mode,
          unpack: instruction.kind === 'ADD',
          multiple,
          linkable: !('context' in source),
        });
      }
      if (urls.length) {
        const { download, downloadName } = await import('./download.js');
        let dir = downloads?.dir;
        if (!dir) {
          dir = workspace.path('downloads');
          await mkdir(dir);
          for (const url of urls) await download(url, dir, checksum);
        }
        actions.push({ kind: 'copy', sourceLayers: [dir], sources: urls.map(downloadName), dest, owner, keepOwner: false, mode, multiple });
      }
      for (const heredoc of heredocs) {
        const target = dest.endsWith('/') ? `${dest}${heredoc.name}` : sources.length + heredocs.length > 1 ? `${dest}/${heredoc.name}` : dest;
        actions.push({ kind: 'write', dest: target, content: heredoc.content, owner, mode });
      }
      return stageWorker(ctx, workspace, lowerDirs, actions);
    },
  };
}
