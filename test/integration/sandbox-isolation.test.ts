/**
 * What other local users and the processes of a sandbox cannot reach (part of the hostile-input suite, with
 * hostile-images.test.ts): the store is its user's alone, whatever the umask; nothing of the starting
 * command's environment or open files reaches any process of a sandbox, pid 1 of a project sandbox included
 * (runc's CVE-2024-21626 class).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { removeAsNamespaceRoot } from '../../src/storage/remove.js';
import { DEVBOX_BIN, devbox, devboxOk, type CliResult } from '../helpers/cli.js';
import { busyboxRootfs, importBusybox, testDir, writeTar } from '../helpers/images.js';

const IMAGE = 'busybox:latest';
const SECRET = 'devbox-test-secret-4f1c9a';
const projects: string[] = [];
const homes: string[] = [];

async function project(): Promise<string> {
  const root = await testDir('isolation-project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE }));
  projects.push(root);
  return root;
}

/** devbox started by a shell the way a user's is: with `prelude` run first (umask, open fds), then exec. */
function devboxFromShell(prelude: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const quoted = [process.execPath, DEVBOX_BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const r = spawnSync('/bin/bash', ['-c', `${prelude}; exec ${quoted}`], { cwd: options.cwd, env: { ...process.env, ...options.env }, encoding: 'utf8' });
  return { exitCode: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

function mode(path: string): number {
  return statSync(path).mode & 0o7777;
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  // Its layers belong to subordinate ids: removed as root of the user namespace.
  await removeAsNamespaceRoot(resolveIdMapping().mapping, homes);
});

test('a new store is 0700 with umask 000 and a world-readable home: a setuid file in a layer is out of other users reach', async () => {
  // A home other users can enter, on a path they can reach (the suites' temp folder is 0700).
  const home = mkdtempSync('/var/tmp/devbox-test-home-');
  homes.push(home);
  chmodSync(home, 0o755);
  const env = { XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
  const tar = join(home, 'suid.tar');
  await writeTar(tar, [...busyboxRootfs(), { name: 'bin/suid', content: '#!/bin/sh\nid\n', mode: 0o4755 }]);
  const imported = devboxFromShell('umask 000', ['image', 'import', tar, 'suid:1'], { env });
  assert.is(imported.exitCode, 0, imported.stderr);
  const run = devboxFromShell('umask 000', ['run', 'suid:1', 'true'], { env });
  assert.is(run.exitCode, 0, run.stderr);
  const store = join(home, 'data', 'devbox');
  assert.is(mode(store), 0o700, 'the store root');
  for (const sub of ['layers', 'containers']) assert.is(mode(join(store, sub)) & 0o077, 0, `${sub}/`);
  const layers = join(store, 'layers');
  const fingerprint = readdirSync(layers).find((name) => statSync(join(layers, name)).isDirectory())!;
  const layer = readdirSync(join(layers, fingerprint)).find((name) => !name.endsWith('.json'))!;
  const suid = join(layers, fingerprint, layer, 'bin', 'suid');
  if (process.getuid!() === 0) {
    // As root another user can be tried for real: nobody cannot even reach the file.
    const nobody = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', 'stat', suid], { encoding: 'utf8' });
    assert.is.not(nobody.status, 0, 'nobody reached the setuid file');
    assert.match(nobody.stderr, /Permission denied/);
  }
});

test('an existing store with open modes is tightened on first use', async () => {
  const home = await testDir('old-store');
  const env = { XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
  const store = join(home, 'data', 'devbox');
  // As an earlier devbox left it: every folder 0755.
  for (const sub of ['', 'layers', 'containers', 'sandboxes']) mkdirSync(join(store, sub), { recursive: true, mode: 0o755 });
  for (const sub of ['', 'layers', 'containers', 'sandboxes']) chmodSync(join(store, sub), 0o755);
  await devboxOk(['images'], { env });
  assert.is(mode(store), 0o700);
  for (const sub of ['layers', 'containers', 'sandboxes']) assert.is(mode(join(store, sub)), 0o700, `${sub}/`);
});

/** Every environment a process of the sandbox can read, as root inside. */
const READ_ENVIRONS = 'for p in /proc/[0-9]*; do cat "$p/environ" 2>/dev/null; done | tr "\\0" "\\n"';

test("a project sandbox: neither pid 1 nor any other process has the starting command's environment", async () => {
  const root = await project();
  const r = await devboxOk(['run', '-u', 'root', 'sh', '-c', READ_ENVIRONS], { cwd: root, env: { DEVBOX_TEST_SECRET: SECRET } });
  assert.not.match(r.stdout, SECRET);
  // The check can see environments: the joined command's own is there.
  assert.match(r.stdout, /^DEVBOX_PROJECT=/m);
  const pid1 = await devboxOk(['run', '-u', 'root', 'sh', '-c', 'tr "\\0" "\\n" < /proc/1/environ'], { cwd: root });
  assert.is(pid1.stdout.trim(), '', 'pid 1 has an environment');
});

for (const storage of ['native', 'fuse']) {
  test(`devbox run (${storage} storage): no process of the container has the host environment`, async () => {
    const r = await devboxOk(['run', '--rm', '--storage', storage, '-u', 'root', IMAGE, 'sh', '-c', READ_ENVIRONS], {
      env: { DEVBOX_TEST_SECRET: SECRET },
    });
    assert.not.match(r.stdout, SECRET);
    assert.match(r.stdout, /^HOSTNAME=/m);
  });
}

/**
 * Every fd of every process in the sandbox, as root inside sees them, and what root can do through fd 100 of
 * pid 1: a starter's fd that reached it would show as a link to the host folder, and `..` from it climbs out.
 */
const READ_FDS = 'ls -l /proc/[0-9]*/fd/ 2>/dev/null; ls /proc/1/fd/100/ 2>&1; echo escaped > /proc/1/fd/100/planted 2>&1; true';

async function hostFolder(): Promise<string> {
  const folder = await testDir('host-folder');
  writeFileSync(join(folder, 'host-secret'), 'secret\n');
  return folder;
}

function assertNoLeak(result: CliResult, folder: string): void {
  assert.is(result.exitCode, 0, result.stderr);
  assert.not.match(result.stdout, folder);
  assert.not.match(result.stdout, 'host-secret');
  assert.equal(readdirSync(folder), ['host-secret']);
}

test("a project sandbox started from a shell with a host folder open as fd 100: no process inside holds any of the starter's fds", async () => {
  const root = await project();
  const folder = await hostFolder();
  const started = devboxFromShell(`exec 100<'${folder}'`, ['run', 'true'], { cwd: root });
  assert.is(started.exitCode, 0, started.stderr);
  assertNoLeak(devboxFromShell(`exec 100<'${folder}'`, ['run', '-u', 'root', 'sh', '-c', READ_FDS], { cwd: root }), folder);
  // pid 1 holds nothing but /dev/null on 0-2 and what it needs itself (sockets, the signalfd).
  const pid1 = await devboxOk(['run', '-u', 'root', 'sh', '-c', 'for fd in /proc/1/fd/*; do readlink "$fd"; done'], { cwd: root });
  for (const target of pid1.stdout.trim().split('\n')) assert.match(target, /^(\/dev\/null|socket:\[\d+\]|anon_inode:\[signalfd\])$/, pid1.stdout);
});

test('devbox run started with a host folder open as fd 100: no process of the container holds it', async () => {
  const folder = await hostFolder();
  assertNoLeak(devboxFromShell(`exec 100<'${folder}'`, ['run', '--rm', '--storage', 'fuse', '-u', 'root', IMAGE, 'sh', '-c', READ_FDS]), folder);
});

test('the checks above can see a leak: a folder bound into the sandbox shows in its fds', async () => {
  const folder = await hostFolder();
  const r = await devboxOk(['run', '--rm', '-v', `${folder}:/bound`, '-u', 'root', IMAGE, 'sh', '-c', `exec 7</bound; ${READ_FDS}`]);
  assert.match(r.stdout, /-> \/bound/);
});

test.run();
