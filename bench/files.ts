/**
 * File I/O where a developer works: the project's folder, bind-mounted at its own path in the project sandbox,
 * against the same work on the host; and, for comparison, the container's own file system (its writable layer)
 * under each storage backend (kernel overlay, fuse-overlayfs, the copy backend). Two kinds of work: untarring
 * a tree of many small files (~20,000 files in 400 folders, ~40 MB), and `git status` in a repository of that
 * tree (a metadata walk: one lstat per file). Each case is timed inside the sandbox (date +%s%N around the
 * command), so devbox's entry is not counted; cases take turns in rounds (round 0 a warm-up), and nothing is
 * deleted until the end (on a journal-less ext4 a delete slows the next creates for minutes).
 * Usage: node dist/bench/files.js [RUNS]. The image is Debian minbase with git, made once with mmdebstrap
 * (needs Debian's package mirror) unless $DEVBOX_BENCH_GIT_ROOTFS names such a tar.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { cachedMinbase, median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 5);
const FOLDERS = 400;
const FILES_PER_FOLDER = 50;
const IMAGE = 'bench-files-git:latest';

/** A tree of small files with distinct contents (as a source tree has), packed as `tar`. */
function makeTree(dir: string, tar: string): void {
  const tree = join(dir, 'tree');
  for (let d = 0; d < FOLDERS; d++) {
    const folder = join(tree, `pkg${d}`, 'src');
    mkdirSync(folder, { recursive: true });
    for (let f = 0; f < FILES_PER_FOLDER; f++) {
      const seed = createHash('sha256').update(`${d}/${f}`).digest('hex');
      writeFileSync(join(folder, `file${f}.ts`), `// ${seed}\n${seed.repeat(30)}\n`);
    }
  }
  sh('tar', ['-cf', tar, '-C', dir, 'tree']);
}

/** A shell snippet that prints how long `command` took, in ms (timed where it runs). */
const timed = (command: string) => `s=$(date +%s%N); ${command} >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`;

interface Case {
  name: string;
  /** The host's case it is compared with. */
  against?: string;
  /** Round i's run: prints the milliseconds. */
  run(i: number): string;
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-files-'));
const containers: string[] = [];
try {
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  // In the project folder: the sandbox sees it there (containers get the bench's folder, read-only).
  const tar = join(project, 'tree.tar');
  makeTree(work, tar);
  // The repository for git status: the tree committed, in the project folder.
  const repo = join(project, 'repo');
  sh('tar', ['-xf', tar, '-C', project]);
  sh('mv', [join(project, 'tree'), repo]);
  const git = (args: string[]) => sh('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', ...args], process.env, repo);
  git(['init', '-q']);
  git(['add', '-A']);
  git(['commit', '-qm', 'tree']);

  const config = (storage: string) => {
    const dir = join(work, `config-${storage}`, 'devbox');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ storage }));
    return { ...process.env, XDG_CONFIG_HOME: join(work, `config-${storage}`) };
  };
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', cachedMinbase('minbase-git-bookworm', ['git'], 'DEVBOX_BENCH_GIT_ROOTFS'), IMAGE]);
  sh(process.execPath, [DEVBOX_BIN, 'run', 'true'], process.env, project); // the sandbox starts once

  const host = (command: string) => sh('sh', ['-c', timed(command)]).trim();
  const sandbox = (command: string) => sh(process.execPath, [DEVBOX_BIN, 'run', 'sh', '-c', timed(command)], process.env, project).trim();
  const container = (storage: string, command: string) => {
    const name = `bench-files-${storage}-${containers.length}`;
    containers.push(name);
    return sh(
      process.execPath,
      [DEVBOX_BIN, 'container', 'run', '--name', name, '-v', `${work}:${work}:ro`, IMAGE, 'sh', '-c', timed(command)],
      config(storage),
    ).trim();
  };
  const untar = (dir: string) => `mkdir -p ${dir} && tar -xf ${tar} -C ${dir}`;
  const cases: Case[] = [
    { name: 'untar, host', run: (i) => host(untar(join(project, `host-${i}`))) },
    { name: 'untar, project folder in the sandbox', against: 'untar, host', run: (i) => sandbox(untar(join(project, `box-${i}`))) },
    { name: 'untar, container file system (kernel overlay)', against: 'untar, host', run: () => container('native', untar('/var/tmp/x')) },
    { name: 'untar, container file system (fuse-overlayfs)', against: 'untar, host', run: () => container('fuse', untar('/var/tmp/x')) },
    { name: 'untar, container file system (copy backend)', against: 'untar, host', run: () => container('copy', untar('/var/tmp/x')) },
    { name: 'git status, host', run: () => host(`git -C ${repo} status --porcelain`) },
    { name: 'git status, project folder in the sandbox', against: 'git status, host', run: () => sandbox(`git -C ${repo} status --porcelain`) },
  ];
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i <= runs; i++) {
    for (let j = 0; j < cases.length; j++) {
      const k = (i + j) % cases.length;
      const ms = Number(cases[k]!.run(i));
      if (i > 0) samples[k]!.push(ms);
    }
  }
  const medians = new Map(cases.map((c, k) => [c.name, median(samples[k]!)]));
  console.log(`file I/O, median of ${runs} rounds (load average ${loadavg()[0]!.toFixed(2)}); tree: ${FOLDERS * FILES_PER_FOLDER} files in ${FOLDERS} folders`);
  for (const c of cases) {
    const ms = medians.get(c.name)!;
    const ratio = c.against ? `${(ms / medians.get(c.against)!).toFixed(2)}x the host` : '';
    console.log(`${c.name.padEnd(50)} ${ms.toFixed(0).padStart(7)} ms   ${ratio}`);
  }
} finally {
  spawnQuiet([DEVBOX_BIN, 'rm', '-f', ...containers]);
  spawnQuiet([DEVBOX_BIN, 'rm', '-f', join(work, 'project')]);
  rmSync(work, { recursive: true, force: true });
}

function spawnQuiet(args: string[]): void {
  try {
    if (args.length > 2) sh(process.execPath, args);
  } catch {
    // cleanup: what is left is in the bench's own folders and store
  }
}
