/**
 * `devbox attach` to running containers through their supervisor's socket: piped input to an -i container and
 * its exit status, output from the moment of attaching, a real terminal (tmux) with the detach keys leaving
 * the container running, SIGINT passed on without a terminal, and one-line errors.
 */
import { spawn } from 'node:child_process';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { openTerminal } from '../helpers/terminal.js';
import { test } from '../helpers/test.js';
import { assertOneLineFailure } from '../helpers/errors.js';

const IMAGE = 'attach-busybox:latest';
const started: string[] = [];

async function runDetached(args: string[]): Promise<string> {
  const id = (await devboxOk(['run', '-d', ...args])).stdout.trim();
  started.push(id);
  return id;
}

/** devbox attach as a child: its output as it comes, its exit status. */
function attach(args: string[], input?: string) {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'attach', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  if (input !== undefined) child.stdin.end(input);
  // Its exit status, or the signal that ended it.
  const status = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const until = async (text: string) => {
    const deadline = Date.now() + 20_000;
    while (!out.includes(text)) {
      if (Date.now() > deadline) throw new Error(`attach never printed "${text}": ${out} ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, status, until, output: () => out, errors: () => err };
}

/** Waits until the container's supervisor has taken `count` attach clients (its "attach" events). */
async function attached(name: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const events = await devboxOk([
      'events',
      '--since',
      '10m',
      '--until',
      '0s',
      '--filter',
      `container=${name}`,
      '--filter',
      'event=attach',
      '--format',
      '{{.Action}}',
    ]);
    if (events.stdout.split('\n').filter(Boolean).length >= count) return;
    if (Date.now() > deadline) throw new Error(`${name} never had ${count} attach client(s)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Makes the container's command print `ready` now (found by its script's words, which this one spells apart). */
const POKE = 'for p in /proc/[0-9]*; do if grep -q "tr""ap" $p/cmdline 2>/dev/null; then echo ready > $p/fd/1; break; fi; done';

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('piped input reaches an -i container, and attach ends with its status', async () => {
  await runDetached(['-i', '--name', 'att-read', IMAGE, 'sh', '-c', 'while read l; do echo "got $l"; done; echo eof; exit 4']);
  const a = attach(['att-read'], 'one\ntwo\n');
  assert.is(await a.status, 4, a.errors());
  assert.is(a.output(), 'got one\ngot two\neof\n');
});

test('output from the moment of attaching, without stdin for a container started without -i', async () => {
  await runDetached(['--name', 'att-out', IMAGE, 'sh', '-c', 'while [ ! -e /tmp/go ]; do echo tick; sleep 0.2; done; echo late; exit 3']);
  const a = attach(['att-out']);
  await a.until('tick');
  await devboxOk(['exec', 'att-out', 'touch', '/tmp/go']);
  assert.is(await a.status, 3, a.errors());
  assert.match(a.output(), /tick\n(tick\n)*late\n$/);
});

test('without a terminal SIGINT is passed on to the command; --no-sig-proxy keeps it', async () => {
  const script = 'trap "echo caught; exit 9" INT; echo ready; while :; do sleep 0.2; done';
  await runDetached(['--name', 'att-sig', IMAGE, 'sh', '-c', script]);
  // Output from before attaching is not replayed: each attach waits for a line it asks the container for.
  const kept = attach(['--no-sig-proxy', 'att-sig']);
  await attached('att-sig', 1);
  await devboxOk(['exec', 'att-sig', 'sh', '-c', POKE]);
  await kept.until('ready');
  kept.child.kill('SIGINT');
  assert.is(await kept.status, 'SIGINT', 'SIGINT ends attach itself');
  assert.is((await devboxOk(['inspect', '-f', '{{.State.Running}}', 'att-sig'])).stdout.trim(), 'true');
  const a = attach(['att-sig']);
  await attached('att-sig', 2);
  await devboxOk(['exec', 'att-sig', 'sh', '-c', POKE]);
  await a.until('ready');
  a.child.kill('SIGINT');
  assert.is(await a.status, 9, a.errors());
  assert.match(a.output(), /caught\n$/);
});

test('on a terminal: keys reach the shell, ctrl-p ctrl-q detaches and leaves it running', async () => {
  await runDetached(['-it', '--name', 'att-tty', IMAGE, 'sh']);
  const term = openTerminal(`${process.execPath} ${DEVBOX_BIN} attach att-tty; echo "detached $?"`, { cwd: await testDir('attach-tty') });
  try {
    term.send('echo "sum $((40 + 2))"\r');
    await term.waitFor(/sum 42/);
    term.send('\x10\x11');
    await term.waitFor(/detached 0/);
  } finally {
    term.close();
  }
  assert.is((await devboxOk(['inspect', '-f', '{{.State.Running}}', 'att-tty'])).stdout.trim(), 'true');
});

test('bad input: an unknown container, a stopped one, bad detach keys, one line each', async () => {
  await devboxOk(['create', '--name', 'att-created', IMAGE, 'true']);
  started.push('att-created');
  for (const [args, message] of [
    [['attach', 'no-such-ctr'], /^devbox: no such container: no-such-ctr/],
    [['attach', 'att-created'], /^devbox: cannot attach to container att-created: it is not running/],
    [['attach', '--detach-keys', 'ctrl-9', 'att-created'], /^devbox: invalid detach keys "ctrl-9"/],
  ] as [string[], RegExp][]) {
    assertOneLineFailure(await devbox(args), message);
  }
});

test.run();
