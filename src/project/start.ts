/**
 * Starting a project's sandbox, when an entry finds none made from the current inputs: initializeCommand on
 * the host, the image (pulled, built, Features installed), the config merged with the image's metadata
 * (start-settings.ts), the sandbox itself, then what follows a start as in Dev Containers: the remote user's
 * home handed to them, the container command, the user's environment probed, the lifecycle commands.
 * Loaded only when a sandbox starts.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { ensurePrivateStoreRoot } from '../image/store-root.js';
import { SANDBOX_CA_BUNDLE } from '../sandbox/ca-bundle.js';
import { ensureLiveSandbox } from '../sandbox/live-sandbox.js';
import { isLive, joinLiveSandbox, readSandboxState, type LiveSandboxState } from '../sandbox/live-state.js';
import type { Settings } from '../settings/settings.js';
import { withFileLock } from '../util/file-lock.js';
import { formatSize } from '../util/format.js';
import { warn } from '../util/warn.js';
import { CONTAINER_HOOKS, CREATE_HOOKS, type ContainerHook } from './devcontainer/metadata.js';
import { readEntrySettings, writeEntrySettings, type EntrySettings, type HookFailure, type HookRecord } from './entry-file.js';
import { entryEnvironment, envRecord, processFor, type EnterOptions } from './entry-process.js';
import { projectImage, projectMounts, type ProjectImage } from './environment.js';
import { projectInputsHash } from './inputs-hash.js';
import { probeUserEnvironment, runHooksInSandbox, runInitializeCommand, startContainerCommand } from './lifecycle.js';
import { projectNetwork } from './network.js';
import { resolveContainerEnv, type LifecycleCommand, type LifecycleStep, type ProjectConfig } from './project-config.js';
import { resolveStartSettings, type Hook, type StartSettings } from './start-settings.js';

const CA_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE'];

export interface ProjectStart {
  state: LiveSandboxState;
  entry?: EntrySettings;
  /** Lifecycle commands the entry leaves to a background worker (those after waitFor). */
  background: HookRecord[];
  /** A lifecycle command failed during this start (and was said). */
  failed?: HookFailure;
}

/**
 * Said once per change of their text (not at every start): what devbox ignores or cannot honour. Returns what
 * records them as said, called once the sandbox started (its folder exists then; a failed start says them again).
 */
function warnOnce(dir: string, lines: readonly string[]): () => void {
  const path = join(dir, 'warnings.sha256');
  const digest = createHash('sha256').update(lines.join('\n')).digest('hex');
  const said = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (said === digest) return () => {};
  for (const line of lines) warn(line);
  return () => (lines.length ? writeFileSync(path, digest) : rmSync(path, { force: true }));
}

/** hostRequirements the machine does not meet, in words. */
function hostShortfalls(requirements: StartSettings['hostRequirements'], storeRoot: string): string[] {
  if (!requirements) return [];
  const lines: string[] = [];
  const cpus = availableParallelism();
  if (requirements.cpus && cpus < requirements.cpus) lines.push(`${requirements.cpus} CPUs, this machine has ${cpus}`);
  if (requirements.memory && totalmem() < requirements.memory)
    lines.push(`${formatSize(requirements.memory)} of memory, this machine has ${formatSize(totalmem())}`);
  if (requirements.storage) {
    const { bavail, bsize } = statfsSync(storeRoot);
    if (bavail * bsize < requirements.storage)
      lines.push(`${formatSize(requirements.storage)} of storage, ${formatSize(bavail * bsize)} is free where devbox keeps its store`);
  }
  if (requirements.gpu) lines.push('a GPU, which devbox does not give its sandboxes');
  return lines.map((line) => `the dev container asks for ${line} (hostRequirements)`);
}

/** ${containerEnv:VAR} in a command, answered from the sandbox's environment (as the reference implementation does once the container runs). */
function withContainerEnv(command: LifecycleCommand, env: Readonly<Record<string, string>>): LifecycleCommand {
  const step = (s: LifecycleStep): LifecycleStep =>
    s.kind === 'shell'
      ? { kind: 'shell', command: resolveContainerEnv(s.command, env) }
      : { kind: 'exec', argv: s.argv.map((a) => resolveContainerEnv(a, env)) };
  return command.kind === 'parallel'
    ? { kind: 'parallel', steps: Object.fromEntries(Object.entries(command.steps).map(([k, s]) => [k, step(s)])) }
    : step(command);
}

/** The remote user's home, still owned by the account's own ids, handed to the ids it now has (updateRemoteUserUID). */
async function handOverHome(project: ProjectConfig, state: LiveSandboxState, entry: EntrySettings): Promise<void> {
  const { user } = state;
  if (!user.updatedFrom || user.home === '/') return;
  const spec = processFor(
    project,
    state,
    entry,
    { command: ['chown', '-R', `${user.uid}:${user.gid}`, user.home], tty: false, interactive: false, user: 'root' },
    '/',
  );
  const status = await joinLiveSandbox(state, spec, 'ignore', 'stderr');
  if (status !== 0)
    warn(`could not give ${user.home} to ${user.name} (chown exited with status ${status}): files there stay owned by uid ${user.updatedFrom.uid}`);
}

/** The container command as the container user, detached: Features' entrypoints, the image's own command when overrideCommand is false. */
async function containerCommand(dir: string, project: ProjectConfig, state: LiveSandboxState, entry: EntrySettings, start: StartSettings): Promise<void> {
  if (!start.containerCommand) return;
  const asRoot = start.containerUser === 'root' || start.containerUser === '0' || start.containerUser === state.user.name;
  const spec = processFor(
    project,
    state,
    entry,
    { command: start.containerCommand, tty: false, interactive: false, ...(asRoot ? { user: 'root' as const } : {}) },
    '/',
  );
  await startContainerCommand(dir, state, spec);
}

function hookRecords(hooks: readonly Hook[], names: readonly ContainerHook[], env: Readonly<Record<string, string>>): HookRecord[] {
  return hooks.filter((h) => names.includes(h.hook)).map(({ hook, origin, command }) => ({ hook, origin, command: withContainerEnv(command, env) }));
}

/**
 * The project's image, and its services' images built beside it rather than after it: independent builds,
 * whose downloads and steps overlap (the services' output is shown after the environment's). A failure of
 * the environment's build stops the services' before their next step, and is the one reported.
 */
async function buildImages(project: ProjectConfig, settings: Settings): Promise<ProjectImage> {
  const environment = projectImage(project, settings);
  if (!project.services) return environment;
  const stop = new AbortController();
  const made = environment.catch((error: unknown) => {
    stop.abort();
    throw error;
  });
  const { buildServiceImages } = await import('../compose/services.js');
  const [image, services] = await Promise.allSettled([
    made,
    buildServiceImages(project.services.group, project.services.up, { showAfter: environment, signal: stop.signal }),
  ]);
  if (image.status === 'rejected') throw image.reason;
  if (services.status === 'rejected') throw services.reason;
  return image.value;
}

export async function startProject(project: ProjectConfig, settings: Settings, options: EnterOptions, dir: string): Promise<ProjectStart> {
  ensurePrivateStoreRoot(settings.storageRoot);
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  // One entry at a time pins, builds and starts: entries at the same moment would each build the image, and
  // hash a build context in which another one is writing devbox.lock. The later ones find the sandbox up.
  // The lock is beside the sandbox's directory, which a start refused before it began never creates.
  const started = await withFileLock(`${dir}.start`, `the sandbox of ${project.name}`, async () => {
    const current = readSandboxState(dir);
    if (current && isLive(current) && current.inputsHash === (await projectInputsHash(project))) return { state: current, fresh: false, started: false };
    await runInitializeCommand(project);
    // Pinning a base image for the first time writes devbox.lock, one of the inputs: the hash changes with it.
    const { store, image, imageName, inputsHash } = await buildImages(project, settings);
    const start = resolveStartSettings(project, image, imageName);
    const warned = warnOnce(dir, [...project.warnings, ...start.warnings, ...hostShortfalls(start.hostRequirements, store.root)]);
    const net = projectNetwork({ ...project, ports: start.ports }, settings, start.portAttributes);
    // The services first: they make the network the sandbox joins, and are up when its lifecycle commands run.
    if (project.services) {
      const { servicesUp } = await import('../compose/services.js');
      await servicesUp(project.services.group, project.services.up, { imagesBuilt: true });
    }
    const result = await ensureLiveSandbox(store, {
      projectRoot: project.root,
      name: project.name,
      image,
      inputsHash,
      mounts: projectMounts({ ...project, mounts: start.mounts }),
      network: net.options,
      networkFixes: net.fixes,
      home: project.home,
      shell: project.shell?.[0],
      ...(project.hostname ? { hostname: project.hostname } : {}),
      ...(start.account ? { account: start.account } : {}),
      ...(settings.caCertificates ? { caCertificates: settings.caCertificates } : {}),
      storage: settings.storage,
    });
    warned();
    return { ...result, start };
  });
  if (!started.started || !('start' in started)) return { state: started.state, entry: readEntrySettings(dir, started.state), background: [] };
  return afterStart(project, settings, options, dir, started.state, started.fresh, started.start);
}

/**
 * What follows a start, as Dev Containers does after creating or starting a container: the remote user's home
 * handed over (a new sandbox), the container command, the user's environment probed, entry.json written, then
 * the lifecycle commands due: those up to waitFor here, the rest left to the caller's background worker.
 */
async function afterStart(
  project: ProjectConfig,
  settings: Settings,
  options: EnterOptions,
  dir: string,
  state: LiveSandboxState,
  fresh: boolean,
  start: StartSettings,
): Promise<ProjectStart> {
  const imageEnv = envRecord(state.imageEnv);
  const previous = fresh ? undefined : readEntrySettings(dir);
  // Tools that bring their own CA list read these (Node.js adds, requests and OpenSSL replace: the bundle has the image's too).
  const caEnv = settings.caCertificates ? Object.fromEntries(CA_VARIABLES.map((name) => [name, SANDBOX_CA_BUNDLE])) : {};
  const environment = (probed?: Record<string, string>) => ({ ...caEnv, ...entryEnvironment(imageEnv, start, probed) });
  let entry: EntrySettings = {
    pidStart: state.pidStart,
    env: environment(),
    postAttach: [],
    shutdownAction: start.shutdownAction,
    // A create-time command that failed stays failed: the sandbox's setup is still incomplete.
    ...(previous?.failed && (CREATE_HOOKS as readonly string[]).includes(previous.failed.hook) ? { failed: previous.failed } : {}),
  };
  writeEntrySettings(dir, entry);
  if (fresh) await handOverHome(project, state, entry);
  await containerCommand(dir, project, state, entry, start);
  entry = { ...entry, env: environment(await probeUserEnvironment(project, state, entry, start.userEnvProbe)) };
  const seen = { ...imageEnv, ...(Object.fromEntries(Object.entries(entry.env).filter(([, v]) => v !== null)) as Record<string, string>) };
  entry.postAttach = hookRecords(start.hooks, ['postAttachCommand'], seen);
  writeEntrySettings(dir, entry);
  if (entry.failed) return { state, entry, background: [] };
  const due = hookRecords(start.hooks, fresh ? CONTAINER_HOOKS.filter((h) => h !== 'postAttachCommand') : ['postStartCommand'], seen);
  // A shell waits for the commands up to waitFor; a command run (devbox run) for all of them.
  const waitIndex = options.command === undefined ? CONTAINER_HOOKS.indexOf(start.waitFor as ContainerHook) : CONTAINER_HOOKS.length;
  const foreground = due.filter((h) => CONTAINER_HOOKS.indexOf(h.hook as ContainerHook) <= waitIndex);
  const background = due.filter((h) => !foreground.includes(h));
  const failed = foreground.length ? await runHooksInSandbox(project, dir, state, entry, foreground) : undefined;
  return failed ? { state, entry: { ...entry, failed }, background: [], failed } : { state, entry, background };
}
