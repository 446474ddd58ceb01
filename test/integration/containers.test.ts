/**
 * Docker's container model end to end, as the unprivileged user running the suite: detached containers under
 * their native supervisor, with real namespaces, slirp4netns and a published port; logs, exec, stop/start,
 * restart policies, health checks, and nothing left running or behind when a supervisor or a starter is killed.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DEVBOX_BIN, devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, testDir, writeTar } from '../helpers/images.js';

const IMAGE = 'ctr-busybox:latest';
const store = () => join(process.env.XDG_DATA_HOME!, 'devbox');
const started: string[] = [];

function state(id: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(store(), 'containers', id, 'state.json'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `check` returns a value, or fails with `what` after the deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function inspect(ref: string, template: string): Promise<string> {
  return (await devboxOk(['inspect', '-f', template, ref])).stdout.trim();
}

async function runDetached(args: string[]): Promise<string> {
  const id = (await devboxOk(['run', '-d', ...args])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  started.push(id);
  return id;
}

function fetchText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test.before(async () => {
  const dir = await testDir('ctr-image');
  const tar = join(dir, 'rootfs.tar');
  await writeTar(tar, [
    ...busyboxRootfs(),
    ...['httpd', 'wget'].map((a) => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox' })),
    { name: 'www', type: 'directory' },
    { name: 'www/index.html', content: 'hello from the container\n' },
  ]);
  await devboxOk(['image', 'import', tar, IMAGE]);
});

test.after(async () => {
  for (const id of started) await devbox(['rm', '-f', id]);
});

test('a detached httpd: id printed, served through -p, logs, exec, inspect and a passing health check', async () => {
  const port = 20000 + (process.pid % 20000);
  const id = await runDetached([
    '--name',
    'web',
    '-p',
    `${port}:80`,
    '--health-cmd',
    'wget -qO- http://127.0.0.1:80/ >/dev/null',
    '--health-interval',
    '300ms',
    IMAGE,
    'httpd',
    '-f',
    '-v',
    '-p',
    '80',
    '-h',
    '/www',
  ]);
  assert.is(await until('the page', () => fetchText(port).catch(() => undefined)), 'hello from the container\n');
  assert.match(await until('the request in the log', async () => (await devboxOk(['logs', 'web'])).stderr.match(/response:200/)?.input), /response:200/);
  const exec = await devboxOk(['exec', 'web', 'sh', '-c', 'cat /www/index.html; id -u']);
  assert.is(exec.stdout, 'hello from the container\n0\n');
  // exec -u NAME finds an account the container added since it started, as docker looks in its files now.
  await devboxOk(['exec', 'web', 'sh', '-c', 'echo "bob:x:4242:4343::/tmp:/bin/sh" >> /etc/passwd']);
  assert.is((await devboxOk(['exec', '-u', 'bob', 'web', 'sh', '-c', 'echo $(id -u):$(id -g)'])).stdout, '4242:4343\n');
  assert.is(await inspect('web', '{{.State.Status}} {{.Name}} {{.Id}}'), `running /web ${id}`);
  assert.is(await until('healthy', async () => (await inspect('web', '{{.State.Health.Status}}')) === 'healthy' || undefined), true);
  assert.match((await devboxOk(['ps', '--filter', 'name=web'])).stdout, /Up .* \(healthy\)\s+127\.0\.0\.1:\d+->80\/tcp\s+web$/m);
  assert.is((await devboxOk(['port', 'web', '80'])).stdout, `127.0.0.1:${port}\n`);
});

test('stop ends it (the stop signal, then its status), start runs it again; stopping a stopped one is no error', async () => {
  await runDetached(['--name', 'sleeper', IMAGE, 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
  assert.is((await devboxOk(['stop', 'sleeper'])).stdout, 'sleeper\n');
  assert.is(await inspect('sleeper', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 7');
  assert.is((await devboxOk(['stop', 'sleeper'])).stdout, 'sleeper\n');
  await devboxOk(['start', 'sleeper']);
  assert.is(await inspect('sleeper', '{{.State.Status}}'), 'running');
  await devboxOk(['kill', 'sleeper']);
  assert.is((await devboxOk(['wait', 'sleeper'])).stdout, '137\n');
});

test('restart on-failure:2 runs a failing command three times in all, then records its status', async () => {
  const id = await runDetached(['--restart', 'on-failure:2', IMAGE, 'sh', '-c', 'echo run; exit 3']);
  const final = await until('the last exit', () => {
    const s = state(id);
    return s.status === 'exited' ? s : undefined;
  });
  assert.is(final.restartCount, 2);
  assert.is(final.exitCode, 3);
  assert.is((await devboxOk(['logs', id])).stdout, 'run\nrun\nrun\n');
});

test('restart always restarts a command that exits, and kill sets the policy aside', async () => {
  const id = await runDetached(['--restart', 'always', IMAGE, 'sh', '-c', 'sleep 0.2']);
  await until('a restart', () => (Number(state(id).restartCount) >= 1 ? true : undefined));
  await until('running again', () => (state(id).status === 'running' ? true : undefined));
  await devboxOk(['kill', id]);
  assert.is(await until('exited', () => (state(id).status === 'exited' ? true : undefined)), true);
  const count = state(id).restartCount;
  await new Promise((r) => setTimeout(r, 500));
  assert.is(state(id).restartCount, count, 'no restart after kill');
});

test('a failing health check makes it unhealthy after the retries, with the output in inspect', async () => {
  await runDetached(['--name', 'sick', '--health-cmd', 'echo not-ok; exit 1', '--health-interval', '200ms', '--health-retries', '2', IMAGE, 'sleep', '1000']);
  assert.is(await until('unhealthy', async () => (await inspect('sick', '{{.State.Health.Status}}')) === 'unhealthy' || undefined), true);
  const [details] = JSON.parse((await devboxOk(['inspect', 'sick'])).stdout);
  assert.is(details.State.Health.Log[0].Output, 'not-ok\n');
  assert.is(details.State.Health.Log[0].ExitCode, 1);
  assert.match((await devboxOk(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).stdout, /^sick Up .* \(unhealthy\)$/m);
});

test('a --rm container that cannot start, or that ends detached, leaves no directory and no name', async () => {
  const before = readdirSync(join(store(), 'containers')).sort();
  const missing = await devbox(['run', '--rm', '--name', 'gone1', IMAGE, 'no-such-program']);
  assert.is(missing.exitCode, 127);
  const id = await runDetached(['--rm', '--name', 'gone2', IMAGE, 'true']);
  await until('removed', () => (!existsSync(join(store(), 'containers', id)) ? true : undefined));
  assert.equal(readdirSync(join(store(), 'containers')).sort(), before);
  assert.not.ok((await devboxOk(['ps', '-a', '--format', '{{.Names}}'])).stdout.match(/gone[12]/));
  // The names are free again.
  await devboxOk(['run', '--rm', '--name', 'gone1', IMAGE, 'true']);
});

test('start -a of a running container attaches to it: the end of this input is the end of its command', async () => {
  const cat = await runDetached(['-i', IMAGE, 'cat']);
  const attached = await devbox(['start', '-ai', cat], { input: 'three\n' });
  assert.equal([attached.exitCode, attached.stdout], [0, 'three\n']);
});

test('kill -9 of the supervisor leaves nothing of the container running, and ps calls it exited', async () => {
  const id = await runDetached([IMAGE, 'sleep', '1000']);
  const s = state(id);
  process.kill(s.supervisorPid as number, 'SIGKILL');
  await until('pid 1 gone', () => (!alive(s.pid as number) ? true : undefined));
  assert.match((await devboxOk(['ps', '-a', '--filter', `id=${id.slice(0, 12)}`, '--format', '{{.Status}}'])).stdout, /^Exited \(137\)/);
  await devboxOk(['rm', id]);
});

test('kill -9 of the devbox that runs a named container in the foreground leaves nothing running untracked', async () => {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'run', '--name', 'fg', IMAGE, 'sleep', '1000'], { stdio: 'ignore' });
  const id = await until('the container', () =>
    readdirSync(join(store(), 'containers')).find(
      (d) =>
        existsSync(join(store(), 'containers', d, 'state.json')) &&
        JSON.parse(readFileSync(join(store(), 'containers', d, 'config.json'), 'utf8')).name === 'fg',
    ),
  );
  started.push(id);
  await until('running', () => (state(id).pid ? true : undefined));
  const s = state(id);
  child.kill('SIGKILL');
  await until('pid 1 and its supervisor gone', () => (!alive(s.pid as number) && !alive(s.supervisorPid as number) ? true : undefined));
  assert.is(await inspect('fg', '{{.State.Status}}'), 'exited');
});

test('bad input is one line and a non-zero status, as docker: unknown container, name in use, bad template, kill of a stopped one', async () => {
  const unknown = await devbox(['stop', 'no-such-container']);
  assert.is(unknown.exitCode, 1);
  assert.is(unknown.stderr, 'devbox: no such container: no-such-container (see "devbox ps -a")\n');
  await devboxOk(['create', '--name', 'taken', IMAGE, 'true']);
  const taken = await devbox(['create', '--name', 'taken', IMAGE, 'true']);
  assert.not.equal(taken.exitCode, 0);
  assert.match(taken.stderr, /^devbox: the container name "taken" is already in use by container [0-9a-f]{12}/);
  assert.is(taken.stderr.split('\n').length, 2);
  const template = await devbox(['ps', '--format', '{{.Names']);
  assert.is(template.exitCode, 125);
  assert.match(template.stderr, /^devbox: template parsing error/);
  const stopped = await devbox(['kill', 'taken']);
  assert.is(stopped.exitCode, 1);
  assert.match(stopped.stderr, /^devbox: container taken is not running/);
  await devboxOk(['rename', 'taken', 'renamed']);
  await devboxOk(['start', '-a', 'renamed']);
  assert.is((await devboxOk(['wait', 'renamed'])).stdout, '0\n');
  await devboxOk(['rm', 'renamed']);
});

test.run();
