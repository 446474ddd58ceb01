/**
 * Sandbox networking, as the current (unprivileged) user, all on this machine's loopback:
 *  - throughput host → sandbox through a forwarded port (MIB mebibytes read by busybox nc + dd inside) for
 *    devbox's slirp4netns network with -p, devbox's host network (no forwarding: the baseline), and rootless
 *    podman's slirp4netns network with its default port handler (rootlesskit) and with slirp4netns's own;
 *  - latency of the first connection answered through a forward after a listener appears inside: through a
 *    port published with -p (the forward exists already) and through auto-forward (devbox must notice it);
 *  - container → container on one user-defined network (devbox network create / podman network create): MIB
 *    mebibytes from busybox dd through nc to a server container, timed in the client by busybox time, and the
 *    time from `run` of a client to its first exchange with the server done (start-up, joining the network,
 *    one connection);
 *  - the isolated network's two outbound links, slirp4netns and pasta: `run --rm … true` on each (start-up
 *    with the link attached) against --network none, and MIB mebibytes from inside to a server on the host's
 *    loopback (through 10.0.2.2).
 * Prints medians and ratios to podman (the links: to slirp4netns, devbox's default).
 * Usage: node dist/bench/network.js [RUNS] [MIB] [links]   (`links`: only the outbound links' section)
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEVBOX_BIN } from '../test/helpers/cli.js';
import { busyboxRootfs, packTar, type TarEntry } from '../test/helpers/images.js';
import { freePort } from '../test/helpers/network.js';
import { median, sh } from './measure.js';

const runs = Number(process.argv[2] ?? 3);
const mib = Number(process.argv[3] ?? 1024);
const onlyLinks = process.argv[4] === 'links';
const START_RUNS = 15;
const LATENCY_RUNS = 10;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A sandbox or container running a shell loop that prints a line each time its server is about to listen. */
class Server {
  private out = '';
  private readonly proc: ChildProcessWithoutNullStreams;

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => (this.out += d));
    let err = '';
    this.proc.stderr.on('data', (d) => (err += d));
    this.proc.once('exit', (code) => {
      if (code !== null && ![0, 137, 143].includes(code)) console.error(`${cmd} exited ${code}: ${err}`);
    });
  }

  /** Waits for the n-th "listening" line. */
  async listening(n: number): Promise<void> {
    while ((this.out.match(/listening/g) ?? []).length < n) await sleep(10);
    await sleep(300); // the line comes just before nc binds
  }

  send(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** SIGTERM reaches the shell through devbox; podman's container needs `end` (its pid 1 ignores SIGTERM). */
  async stop(end: () => void = () => this.proc.kill('SIGTERM')): Promise<void> {
    const exited = new Promise((r) => this.proc.once('close', r));
    end();
    await exited;
  }
}

/**
 * Sends `bytes` to 127.0.0.1:port; ms from connect until the receiver, having read them all, closed the
 * connection (it counts them itself: port forwarders do not all pass a half-close on).
 */
function send(port: number, bytes: number): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.once('connect', pump);
    socket.on('data', () => {});
    socket.once('close', () => (left <= 0 ? resolve(performance.now() - t0) : reject(new Error(`connection closed with ${left} bytes unsent`))));
    socket.on('error', () => {}); // a reset once the receiver has everything; 'close' follows
  });
}

async function throughput(
  name: string,
  cmd: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv,
  end?: () => void,
): Promise<{ name: string; gbps: number }> {
  const server = new Server(cmd, args, env);
  const samples: number[] = [];
  try {
    for (let i = 1; i <= runs + 1; i++) {
      await server.listening(i);
      const ms = await send(port, mib * 2 ** 20);
      if (i > 1) samples.push((mib * 2 ** 20 * 8) / (ms / 1000) / 1e9); // the first is a warm-up
    }
  } finally {
    await server.stop(end);
  }
  return { name, gbps: median(samples) };
}

/** Connects until an HTTP answer comes back; ms from `t0`. */
async function firstAnswer(port: number, t0: number): Promise<number> {
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end('GET / HTTP/1.0\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.once('close', () => resolve(data.includes('ok')));
      socket.once('error', () => resolve(false));
    });
    if (answered) return performance.now() - t0;
    await sleep(2);
  }
}

/** httpd started on demand inside (`start PORT`, `stop`): the median time to the first answer on the host. */
async function listenerLatency(args: string[], hostPort: (port: number) => number, innerPort: () => Promise<number>, env: NodeJS.ProcessEnv): Promise<number> {
  const script =
    'mkdir /www; echo ok > /www/index.html; echo listening; while read cmd port; do case $cmd in start) httpd -f -p $port -h /www & p=$!;; stop) kill $p; wait $p;; esac; done';
  const server = new Server(process.execPath, [DEVBOX_BIN, 'run', '--rm', '-i', ...args, 'sh', '-c', script], env);
  const samples: number[] = [];
  try {
    await server.listening(1);
    for (let i = 0; i < LATENCY_RUNS + 1; i++) {
      const port = await innerPort();
      const t0 = performance.now();
      server.send(`start ${port}`);
      const ms = await firstAnswer(hostPort(port), t0);
      if (i > 0) samples.push(ms);
      server.send('stop');
      await sleep(500); // the listener and its auto-forward go away
    }
  } finally {
    await server.stop();
  }
  return median(samples);
}

/** Gbit/s of `mib` MiB sent in the time busybox's `time` reports ("real\t0m 1.23s"). */
function timedGbps(output: string): number {
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(output);
  if (!m) throw new Error(`no time in: ${output.slice(-300)}`);
  return (mib * 2 ** 20 * 8) / (Number(m[1]) * 60 + Number(m[2])) / 1e9;
}

/**
 * A server container on a new network and clients beside it: throughput of dd piped through nc to it, and
 * the wall time of a client's `run` up to its first exchange with the server. `cli`: devbox or podman, as argv.
 * podman 4 with CNI resolves no container names here, so both connect to the server's address.
 */
async function betweenContainers(
  name: string,
  cli: string[],
  global: string[],
  cliEnv: NodeJS.ProcessEnv,
): Promise<{ name: string; gbps: number; firstMs: number }> {
  const [cmd, ...pre] = cli;
  const run = (args: string[]) => sh(cmd, [...pre, ...global, ...args], cliEnv);
  const image = cmd === 'podman' ? 'localhost/bench-net' : 'bench-net';
  const network = 'bench-bridge';
  run(['network', 'create', network]);
  try {
    run([
      'run',
      '-d',
      '--name',
      'bench-server',
      '--network',
      network,
      image,
      'sh',
      '-c',
      'nc -ll -p 5000 -e dd bs=1M of=/dev/null & nc -ll -p 5001 -e echo hi & wait',
    ]);
    const address = run(['inspect', '-f', `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}`, 'bench-server']).trim();
    const client = (script: string) => run(['run', '--rm', '--network', network, image, 'sh', '-c', script]);
    client(`until echo | nc ${address} 5001 | grep -q hi; do sleep 0.1; done`); // the server listens
    const samples: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const out = client(`time sh -c 'dd if=/dev/zero bs=1M count=${mib} 2>/dev/null | nc ${address} 5000' 2>&1`);
      if (i > 0) samples.push(timedGbps(out));
    }
    const first: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      client(`echo | nc ${address} 5001`);
      first.push(performance.now() - t0);
    }
    return { name, gbps: median(samples), firstMs: median(first) };
  } finally {
    spawnSync(cmd, [...pre, ...global, 'rm', '-f', 'bench-server'], { stdio: 'ignore', env: cliEnv });
    spawnSync(cmd, [...pre, 'network', 'rm', network], { stdio: 'ignore', env: cliEnv });
  }
}

/**
 * A server on the host's loopback that reads everything sent and closes at the end; its port. A process of
 * its own: the runs are spawnSync, which would stop a server in this one.
 */
async function sink(): Promise<{ port: number; close(): void }> {
  const script =
    "const s=require('net').createServer((c)=>{c.resume();c.once('end',()=>c.end());c.on('error',()=>{})});s.listen(0,'127.0.0.1',()=>console.log(s.address().port))";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  return { port, close: () => child.kill() };
}

/**
 * slirp4netns and pasta side by side: the start of `run --rm … true` with each attached (and with no network,
 * the floor), and sandbox → host throughput through each to a server on the host's loopback.
 */
async function outboundLinks(linkEnv: NodeJS.ProcessEnv): Promise<void> {
  const run = (args: string[]) => sh(process.execPath, [DEVBOX_BIN, 'run', '--rm', ...args], linkEnv);
  const networks = ['none', 'slirp4netns', 'pasta'];
  const starts = new Map<string, number[]>(networks.map((n) => [n, []]));
  for (let i = 0; i <= START_RUNS; i++) {
    // Interleaved, so that a change of the machine's load falls on all three.
    for (const network of networks) {
      const t0 = performance.now();
      run(['--network', network, 'bench-net', 'true']);
      if (i > 0) starts.get(network)!.push(performance.now() - t0);
    }
  }
  const server = await sink();
  const gbps = new Map<string, number[]>(networks.slice(1).map((n) => [n, []]));
  try {
    for (let i = 0; i <= runs; i++) {
      for (const network of networks.slice(1)) {
        const out = run([
          '--network',
          network,
          'bench-net',
          'sh',
          '-c',
          `time sh -c 'dd if=/dev/zero bs=1M count=${mib} 2>/dev/null | nc 10.0.2.2 ${server.port}' 2>&1`,
        ]);
        if (i > 0) gbps.get(network)!.push(timedGbps(out));
      }
    }
  } finally {
    server.close();
  }
  const floor = median(starts.get('none')!);
  const slirp = median(starts.get('slirp4netns')!);
  console.log(`
the isolated network's outbound link: run --rm … true, median of ${START_RUNS} (interleaved)`);
  for (const network of networks) {
    const ms = median(starts.get(network)!);
    console.log(
      `${`--network ${network}`.padEnd(40)} ${ms.toFixed(1).padStart(6)} ms   +${(ms - floor).toFixed(1)} ms over none   ${(ms / slirp).toFixed(2)}x slirp4netns`,
    );
  }
  const slirpGbps = median(gbps.get('slirp4netns')!);
  console.log(`
sandbox → a server on the host's loopback (10.0.2.2), ${mib} MiB (dd | nc), median of ${runs} runs after a warm-up`);
  for (const [network, samples] of gbps) {
    const g = median(samples);
    console.log(`${`--network ${network}`.padEnd(40)} ${g.toFixed(2).padStart(6)} Gbit/s   ${(g / slirpGbps).toFixed(2)}x slirp4netns`);
  }
}

const work = mkdtempSync(join(tmpdir(), 'devbox-bench-net-'));
const env = { ...process.env, XDG_DATA_HOME: join(work, 'data'), XDG_CONFIG_HOME: join(work, 'config') };
const podmanEnv = { ...process.env, XDG_DATA_HOME: join(work, 'podman-data') };
try {
  const tarPath = join(work, 'rootfs.tar');
  const applets = ['nc', 'httpd', 'dd', 'time'].map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' }));
  writeFileSync(tarPath, await packTar([...busyboxRootfs(), ...applets]));
  sh(process.execPath, [DEVBOX_BIN, 'image', 'import', tarPath, 'bench-net'], env);
  // The host's loopback is reached through 10.0.2.2 only when allowed.
  mkdirSync(join(work, 'config', 'devbox'), { recursive: true });
  writeFileSync(join(work, 'config', 'devbox', 'config.json'), JSON.stringify({ allowHostLoopback: true }));
  await outboundLinks(env);
  if (onlyLinks) process.exit(0);
  sh('podman', ['import', tarPath, 'localhost/bench-net'], podmanEnv);

  const loop = (port: number) => [
    'sh',
    '-c',
    `while :; do echo listening; nc -l -p ${port} -e dd bs=1M count=${mib} iflag=fullblock of=/dev/null 2>/dev/null; done`,
  ];
  const results: { name: string; gbps: number }[] = [];
  let port = await freePort();
  results.push(
    await throughput(
      'devbox slirp4netns -p',
      process.execPath,
      [DEVBOX_BIN, 'run', '--rm', '-i', '-p', `127.0.0.1:${port}:5000`, 'bench-net', ...loop(5000)],
      port,
      env,
    ),
  );
  port = await freePort();
  results.push(
    await throughput('devbox host network', process.execPath, [DEVBOX_BIN, 'run', '--rm', '-i', '--network', 'host', 'bench-net', ...loop(port)], port, env),
  );
  for (const handler of ['rootlesskit', 'slirp4netns']) {
    port = await freePort();
    const name = `bench-net-${handler}`;
    const podman = [
      '--runtime',
      'runc',
      'run',
      '--rm',
      '-i',
      '--name',
      name,
      '--network',
      `slirp4netns:port_handler=${handler}`,
      '-p',
      `127.0.0.1:${port}:5000`,
      'localhost/bench-net',
      ...loop(5000),
    ];
    const remove = () => spawnSync('podman', ['rm', '-f', '-t', '0', name], { stdio: 'ignore', env: podmanEnv });
    results.push(await throughput(`podman slirp4netns (${handler} ports)`, 'podman', podman, port, podmanEnv, remove));
  }
  const peer = results.find((r) => r.name.includes('rootlesskit'))!.gbps;
  console.log(`throughput host → sandbox through a forwarded port, ${mib} MiB, median of ${runs} runs after a warm-up`);
  for (const r of results) console.log(`${r.name.padEnd(40)} ${r.gbps.toFixed(2).padStart(6)} Gbit/s   ${(r.gbps / peer).toFixed(2)}x podman`);

  const published = await freePort();
  const viaPublished = await listenerLatency(
    ['-p', `127.0.0.1:${published}:8080`, 'bench-net'],
    () => published,
    async () => 8080,
    env,
  );
  const viaAuto = await listenerLatency(['bench-net'], (p) => p, freePort, env);
  console.log(`\nfirst answered connection after a listener starts inside, median of ${LATENCY_RUNS}`);
  console.log(`${'published port (-p)'.padEnd(40)} ${viaPublished.toFixed(1).padStart(6)} ms`);
  console.log(`${'auto-forward'.padEnd(40)} ${viaAuto.toFixed(1).padStart(6)} ms   (+${(viaAuto - viaPublished).toFixed(1)} ms)`);

  const onNetwork = [
    await betweenContainers('devbox network', [process.execPath, DEVBOX_BIN], [], env),
    await betweenContainers('podman network (CNI, rootless-netns)', ['podman'], ['--runtime', 'runc'], podmanEnv),
  ];
  const [ours, theirs] = onNetwork;
  console.log(`\ncontainer → container on one network, ${mib} MiB (dd | nc), median of ${runs} runs after a warm-up`);
  for (const r of onNetwork) console.log(`${r.name.padEnd(40)} ${r.gbps.toFixed(2).padStart(6)} Gbit/s   ${(r.gbps / theirs.gbps).toFixed(2)}x podman`);
  console.log(`\nrun of a client on the network until its first exchange with a server there is done, median of ${runs}`);
  for (const r of [ours, theirs])
    console.log(`${r.name.padEnd(40)} ${r.firstMs.toFixed(1).padStart(6)} ms   ${(r.firstMs / theirs.firstMs).toFixed(2)}x podman`);
  spawnSync('podman', ['rmi', '-f', 'localhost/bench-net'], { stdio: 'ignore', env: podmanEnv });
  spawnSync('podman', ['unshare', 'rm', '-rf', join(work, 'podman-data')], { stdio: 'ignore', env: podmanEnv });
} finally {
  spawnSync(process.execPath, [new URL('../test/helpers/remove-tree.js', import.meta.url).pathname, work], { stdio: 'inherit' });
  rmSync(work, { recursive: true, force: true });
}
