/**
 * `devbox stats` against real detached containers: a busy one's CPU, a shell holding 24 MB, its processes,
 * its own network namespace's traffic; streaming frames; one-line errors.
 */
import { spawn } from 'node:child_process';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox } from '../helpers/images.js';
import { test } from '../helpers/test.js';

const IMAGE = 'stats-busybox:latest';
const started: string[] = [];

async function runDetached(args: string[]): Promise<string> {
  const id = (await devboxOk(['run', '-d', ...args])).stdout.trim();
  started.push(id);
  return id;
}

/** Polls until the container's log has `text`. */
async function logged(name: string, text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await devboxOk(['logs', name])).stdout.includes(text)) {
    if (Date.now() > deadline) throw new Error(`${name} never logged "${text}"`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const FORMAT = '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.MemPerc}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}';

function row(stdout: string, name: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith(`${name}|`));
  assert.ok(line, `a row for ${name} in:\n${stdout}`);
  return line.split('|');
}

/** "24.5MiB" → bytes. */
function bytes(text: string): number {
  const match = /^([\d.]+)(B|KiB|MiB|GiB)$/.exec(text);
  assert.ok(match, `a memory figure: ${text}`);
  return Number(match[1]) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[match[2] as 'B'];
}

test.before(async () => {
  await importBusybox(IMAGE);
  await runDetached(['--name', 'stats-busy', IMAGE, 'sh', '-c', 'echo go; while :; do :; done']);
  await runDetached(['--name', 'stats-mem', IMAGE, 'sh', '-c', 'x=$(head -c 24000000 /dev/zero | tr "\\0" a); echo held; sleep 300; echo done']);
  await runDetached(['--name', 'stats-host', '--network', 'host', IMAGE, 'sleep', '300']);
  await logged('stats-busy', 'go');
  await logged('stats-mem', 'held');
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('--no-stream: CPU, memory, processes and network as docker shows them', async () => {
  const out = (await devboxOk(['stats', '--no-stream', '--format', FORMAT, 'stats-busy', 'stats-mem', 'stats-host'])).stdout;
  const busy = row(out, 'stats-busy');
  assert.ok(Number.parseFloat(busy[1]) > 5, `a busy loop uses CPU: ${busy[1]}`);
  const mem = row(out, 'stats-mem');
  const [usage, limit] = mem[2].split(' / ');
  assert.ok(bytes(usage) > 20 * 1024 ** 2, `a shell holding 24 MB: ${usage}`);
  assert.ok(bytes(limit) > bytes(usage), `the limit is the machine's memory: ${limit}`);
  assert.match(mem[3], /^\d+\.\d\d%$/);
  assert.match(mem[4], /^[\d.]+k?B \/ [\d.]+k?B$/, 'its own network namespace has counters');
  assert.match(mem[5], /^[\d.]+[kMG]?B \/ [\d.]+[kMG]?B$/);
  // devbox's init, the shell and its sleep.
  assert.is(Number(mem[6]), 3, `processes: ${mem[6]}`);
  assert.is(row(out, 'stats-host')[4], '-- / --', "the host's network is not the container's to count");
});

test("the default table has docker's columns; -a lists stopped containers with blanks", async () => {
  await devboxOk(['create', '--name', 'stats-created', IMAGE, 'true']);
  const out = (await devboxOk(['stats', '--no-stream', '-a'])).stdout.split('\n');
  assert.equal(out[0].split(/ {2,}/), ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS']);
  const created = out.find((l) => l.includes('stats-created'));
  assert.ok(created, out.join('\n'));
  assert.match(created, /stats-created\s+--\s+-- \/ --/);
  const running = (await devboxOk(['stats', '--no-stream', '--format', '{{.Name}}'])).stdout.split('\n');
  assert.not.ok(running.includes('stats-created'), 'without -a only running containers');
  await devboxOk(['rm', 'stats-created']);
});

test('streaming: a frame a second, CPU over the last one', async () => {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'stats', '--format', '{{.Name}} {{.CPUPerc}}', 'stats-busy'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  while (out.split('\n').filter((l) => l.startsWith('stats-busy ')).length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  const frames = out.split('\n').filter((l) => l.startsWith('stats-busy '));
  assert.ok(frames.length >= 3, `three frames in 20 s: ${out}`);
  assert.ok(Number.parseFloat(frames[2].split(' ')[1]) > 5, `the busy loop over the last second: ${frames[2]}`);
});

test('bad input: an unknown container, a bad template, one line each', async () => {
  for (const [args, message] of [
    [['stats', '--no-stream', 'no-such-ctr'], /^devbox: no such container: no-such-ctr/],
    [['stats', '--no-stream', '--format', '{{.Name', 'stats-busy'], /^devbox: .*template/],
  ] as [string[], RegExp][]) {
    const result = await devbox(args);
    assert.ok(result.exitCode !== 0);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});

test.run();
