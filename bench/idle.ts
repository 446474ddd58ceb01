/**
 * What live sandboxes cost while idle: three project sandboxes on the slirp4netns network (busybox), and three
 * `podman run -d` containers of the same image on podman's slirp4netns network, measured in one run as the
 * current (unprivileged) user. For each, the processes that run beside the container (devbox: the
 * supervising helper, slirp4netns, the port watcher; podman: conmon, slirp4netns) — their resident memory
 * and the CPU time they use over a quiet window. Target: the port watcher ≤ 5 MB and no measurable CPU.
 * Usage: node dist/bench/idle.js [SECONDS]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSandboxState } from '../src/sandbox/live-state.js';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { busyboxRootfs, packTar } from '../test/helpers/images.js';
import { sh } from './measure.js';

const seconds = Number(process.argv[2] ?? 30);
const SETTLE_SECONDS = 15;
const SANDBOXES = 3;

interface Sample {
  rssKiB: number;
  /** CPU time so far, from /proc/PID/schedstat (nanoseconds; /proc/PID/stat counts 10 ms ticks). */
  cpuNs: number;
}

/** A process beside a container, named by what it does. */
interface Role {
  pid: number;
  role: string;
}

function sample(pid: number): Sample {
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { rssKiB: Number(rss?.[1] ?? 0), cpuNs: Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) };
}

function commandName(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** This user's processes whose command line contains `text`. */
function processesMentioning(text: string): number[] {
  const uid = process.getuid!();
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/status`, 'utf8').includes(`\nUid:\t${uid}\t`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone
      }
    })
    .map(Number);
}

/** Per role: the resident memory of each process and the CPU each used over the window, as % of a core. */
async function measure(processes: Role[]): Promise<Map<string, { rssKiB: number[]; cpuPercent: number[] }>> {
  const before = new Map(processes.map(({ pid }) => [pid, sample(pid)]));
  await sleep(seconds * 1000);
  const byRole = new Map<string, { rssKiB: number[]; cpuPercent: number[] }>();
  for (const { pid, role } of processes) {
    const after = sample(pid);
    const entry = byRole.get(role) ?? { rssKiB: [], cpuPercent: [] };
    entry.rssKiB.push(after.rssKiB);
    entry.cpuPercent.push(((after.cpuNs - before.get(pid)!.cpuNs) / 1e9 / seconds) * 100);
    byRole.set(role, entry);
  }
  return byRole;
}

function report(tool: string, byName: Map<string, { rssKiB: number[]; cpuPercent: number[] }>): void {
  for (const [name, { rssKiB, cpuPercent }] of byName) {
    const rss = rssKiB.reduce((a, b) => a + b, 0) / rssKiB.length / 1024;
    const cpu = cpuPercent.reduce((a, b) => a + b, 0) / cpuPercent.length;
    console.log(
      `${tool.padEnd(8)} ${name.padEnd(28)} ×${rssKiB.length}   ${rss.toFixed(1).padStart(6)} MB each   ${cpu.toFixed(4).padStart(7)} % of a core each`,
    );
  }
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-idle-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data'), XDG_CONFIG_HOME: join(work, 'podman-config') };
const projects = Array.from({ length: SANDBOXES }, (_, i) => join(work, `project-${i}`));
const podmanNames = projects.map((_, i) => `bench-idle-${i}`);
try {
  const tarPath = join(work, 'rootfs.tar');
  writeFileSync(tarPath, await packTar(busyboxRootfs()));
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tarPath, 'bench-busybox'], env);
  sh('podman', ['import', tarPath, 'localhost/bench-busybox'], podmanEnv);

  const devboxProcesses: Role[] = [];
  for (const project of projects) {
    mkdirSync(project);
    writeFileSync(join(project, 'devbox.json'), JSON.stringify({ image: 'bench-busybox' }));
    sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], env, project);
  }
  for (const dir of readdirSync(join(work, 'data', 'devbox', 'sandboxes'))) {
    const state = readSandboxState(join(work, 'data', 'devbox', 'sandboxes', dir))!;
    const [slirp, watcher] = (state.network ?? []).map((p) => p.pid);
    devboxProcesses.push(
      { pid: state.outerPid, role: 'supervisor (devbox-helper)' },
      { pid: slirp, role: 'slirp4netns' },
      { pid: watcher, role: `port watcher (${commandName(watcher)})` },
    );
  }
  const podmanProcesses: Role[] = [];
  for (const name of podmanNames) {
    sh('podman', ['--runtime', 'runc', 'run', '-d', '--name', name, '--network', 'slirp4netns', 'localhost/bench-busybox', 'sleep', '1d'], podmanEnv);
    // conmon names the container, slirp4netns its network namespace.
    const [id, netns] = sh('podman', ['inspect', '-f', '{{.Id}} {{.NetworkSettings.SandboxKey}}', name], podmanEnv).trim().split(' ');
    for (const pid of [...processesMentioning(id), ...processesMentioning(netns)]) podmanProcesses.push({ pid, role: commandName(pid) });
  }

  // Idle means settled: the port watcher looks five times a second until 10 s pass without a socket change.
  await sleep(SETTLE_SECONDS * 1000);
  console.log(
    `${SANDBOXES} idle sandboxes each (busybox, slirp4netns network): the processes beside each container, over ${seconds} s after ${SETTLE_SECONDS} s to settle (load ${loadavg()[0].toFixed(1)})`,
  );
  const [devbox, podman] = await Promise.all([measure(devboxProcesses), measure(podmanProcesses)]);
  report('devbox', devbox);
  report('podman', podman);
} finally {
  for (const project of projects) spawnSync(process.execPath, [DEVBOX_BIN, 'stop'], { cwd: project, env, stdio: 'ignore' });
  for (const name of podmanNames) spawnSync('podman', ['rm', '-f', '-t', '0', name], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-busybox'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
