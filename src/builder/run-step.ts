/**
 * RUN: the command in a sandbox on top of the image's layers (the same runtime as `devbox run`: the full
 * subordinate-id map, so package managers can chown; the host's network unless --network=none), its
 * changes collected from the overlay's upper directory into a layer tar by the layer worker.
 * The image's own /tmp is used (its writes belong to the image, as in Docker); /etc/hosts and
 * /etc/resolv.conf are private copies of the host's, bound over the image's, and like every mount point
 * the sandbox had to create they are left out of the layer.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import type { ResolvedUser } from '../image/passwd.js';
import { launchSandbox } from '../runtime/launch.js';
import { resolveSecurity } from '../runtime/security.js';
import type { BindMount, RootfsSpec, SandboxSpec } from '../runtime/spec.js';
import type { StorageDriver } from '../storage/driver.js';
import { requireFuseOverlayfs } from '../storage/fuse-overlayfs.js';
import { checkMapped, type IdMapping, supplementaryGroups } from '../userns/idmap.js';
import { DevboxError } from '../util/errors.js';
import { runLayerWorker } from './layer-commit.js';
import type { LayerTarResult } from './layer-tar.js';
import type { StepWorkspace } from './workspace.js';

export interface RunStepSpec {
  lowerDirs: string[];
  args: string[];
  env: string[];
  cwd: string;
  user: ResolvedUser;
  network: 'host' | 'none';
  /** RUN --mount=type=cache directories. */
  mounts: BindMount[];
  /** Where the command's output goes (a file descriptor). */
  output: number;
}

/** Mount points the helper makes inside the root file system, besides the binds. */
const SANDBOX_MOUNT_POINTS = ['/proc', '/dev', '/sys'];

function rootfsFor(driver: StorageDriver, workspace: StepWorkspace, lowerDirs: string[]): RootfsSpec {
  const layout = { lowerDirs, upperDir: workspace.path('upper'), workDir: workspace.path('work'), mountpoint: workspace.path('merged') };
  mkdirSync(layout.mountpoint);
  if (!lowerDirs.length) {
    // FROM scratch: overlayfs still wants a lower directory.
    mkdirSync(workspace.path('empty'));
    layout.lowerDirs = [workspace.path('empty')];
  }
  switch (driver) {
    case 'native':
      return { kind: 'overlay', ...layout };
    case 'fuse':
      return { kind: 'fuse-overlay', program: requireFuseOverlayfs(), ...layout };
    case 'copy':
      throw new DevboxError('RUN needs kernel overlayfs or fuse-overlayfs: the copy backend cannot tell what a command changed', {
        fix: 'devbox config set storage auto (see "devbox doctor")',
      });
  }
}

/** A private copy of a host file to bind into the sandbox (writes to it are thrown away). */
function hostFileCopy(workspace: StepWorkspace, hostPath: string, name: string): string {
  const copy = workspace.path(name);
  if (existsSync(hostPath)) copyFileSync(hostPath, copy);
  else writeFileSync(copy, '');
  return copy;
}

export interface RunStepResult {
  exitCode: number;
  /** The step's changes as a layer tar, when the command succeeded (and the upper directory they were read from). */
  layer?: { path: string; dir: string } & LayerTarResult;
}

export async function runStep(mapping: IdMapping, driver: StorageDriver, workspace: StepWorkspace, step: RunStepSpec): Promise<RunStepResult> {
  checkMapped(mapping, step.user.uid, step.user.gid);
  const rootfs = rootfsFor(driver, workspace, step.lowerDirs);
  const files: BindMount[] = [
    { source: hostFileCopy(workspace, '/etc/hosts', 'hosts'), destination: '/etc/hosts', readonly: false },
    { source: hostFileCopy(workspace, '/etc/resolv.conf', 'resolv.conf'), destination: '/etc/resolv.conf', readonly: false },
  ];
  const spec: SandboxSpec = {
    idMapping: mapping,
    rootfs,
    mounts: [...files, ...step.mounts],
    hostname: 'buildsandbox',
    network: step.network,
    process: {
      args: step.args,
      env: step.env,
      cwd: step.cwd,
      uid: step.user.uid,
      gid: step.user.gid,
      groups: supplementaryGroups(mapping, step.user.groups),
      terminal: false,
    },
    imageTmp: true,
    // Docker's defaults, as BuildKit gives RUN steps.
    security: resolveSecurity(),
  };
  const exitCode = await launchSandbox(spec, { stdin: 'ignore', output: step.output });
  if (exitCode !== 0) return { exitCode };
  if (rootfs.kind === 'directory') throw new Error('unreachable: RUN has an overlay root');
  const result = await runLayerWorker(mapping, {
    op: 'diff',
    dir: rootfs.upperDir,
    out: workspace.tar,
    owner: { uid: mapping.uid, gid: mapping.gid },
    lowers: step.lowerDirs,
    mountPoints: [...SANDBOX_MOUNT_POINTS, ...[...files, ...step.mounts].map((m) => m.destination)],
    // A kernel overlay's upper directory is in the store's layer format: it can become the layer as it is.
    asLayer: rootfs.kind === 'overlay',
  });
  return { exitCode, layer: { path: workspace.tar, dir: rootfs.upperDir, ...result! } };
}
