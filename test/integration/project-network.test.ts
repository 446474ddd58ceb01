/**
 * The slirp4netns network of project sandboxes, with real slirp4netns: "ports" and auto-forward answering on
 * the host, `devbox ports`, entries sharing one network, "none", and no slirp4netns or port watcher outliving
 * its sandbox however the sandbox ends. Host ports are ones the system just handed out.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { testDir } from '../helpers/images.js';
import { startTimeOf } from '../../src/util/processes.js';
import { closeServer, eventually, freePort, httpGet, importNetworkImage, listenOnFreePort, portOf } from '../helpers/network.js';
import { startedSince, suiteProcesses } from '../helpers/processes.js';

const IMAGE = 'netbox:latest';
const projects: string[] = [];
const sandboxesDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'sandboxes');

interface ProcessRecord {
  pid: number;
  start: string;
}

interface SandboxState {
  pid: number;
  outerPid: number;
  network?: ProcessRecord[];
}

async function project(config: Record<string, unknown>): Promise<string> {
  const root = await testDir('project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image: IMAGE, ...config }));
  projects.push(root);
  return root;
}

function sandboxOf(root: string): { id: string; state: SandboxState } {
  for (const id of readdirSync(sandboxesDir())) {
    const path = join(sandboxesDir(), id, 'state.json');
    if (!existsSync(path)) continue; // a sandbox that failed to start
    const state = JSON.parse(readFileSync(path, 'utf8'));
    if (state.project === root) return { id, state };
  }
  throw new Error(`no sandbox for ${root}`);
}

/** Starts busybox httpd in the background inside, serving `body` on `port` (on `address`, all by default). */
const serve = (body: string, port: number, address = '') =>
  `mkdir -p /tmp/www${port} && echo ${body} > /tmp/www${port}/index.html && httpd -p ${address ? `${address}:` : ''}${port} -h /tmp/www${port} </dev/null >/dev/null 2>&1`;

/** `devbox ports` rows of one sandbox as [port, host address, forward]. */
async function portsRows(id: string): Promise<string[][]> {
  const lines = (await devboxOk(['ports', id])).stdout.trim().split('\n').slice(1);
  return lines
    .map((line) =>
      line
        .trim()
        .split(/\s{2,}/)
        .slice(1),
    )
    .sort();
}

/**
 * The network processes the sandbox recorded, running: slirp4netns, the helper's forwarder of its published
 * ports and the helper's port watcher.
 */
function networkProcesses(state: SandboxState): ProcessRecord[] {
  const processes = state.network ?? [];
  assert.equal(
    processes.map((p) => readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(' ')[1]),
    ['(slirp4netns)', '(devbox-helper)', '(devbox-helper)'],
  );
  assert.ok(processes.every(running));
  return processes;
}

/** Still running: the same process (not a later one with its pid), not a zombie. */
function running(p: ProcessRecord): boolean {
  return startTimeOf(p.pid) === p.start;
}

async function gone(what: string, processes: ProcessRecord[]): Promise<void> {
  await eventually(what, () => (processes.some(running) ? undefined : true), 5000);
}

test.before(async () => {
  await importNetworkImage(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
});

test('a server inside answers on the host through "ports" and through auto-forward; devbox ports lists both', async () => {
  const [hostPort, autoPort] = [await freePort(), await freePort()];
  const root = await project({ ports: [`${hostPort}:8080`] });
  const r = await devboxOk(['run', 'sh', '-c', `${serve('published', 8080)} && ${serve('auto', autoPort)} && echo started`], { cwd: root });
  assert.is(r.stdout, 'started\n');
  assert.is(r.stderr, '', 'no note about the host network');
  assert.is(await httpGet(hostPort), 'published\n');
  assert.is(await eventually('the auto-forward', () => httpGet(autoPort)), 'auto\n');
  const { id } = sandboxOf(root);
  assert.equal(
    await portsRows(id),
    [
      [`${autoPort}/tcp`, `127.0.0.1:${autoPort}`, 'auto'],
      ['8080/tcp', `127.0.0.1:${hostPort}`, 'published'],
    ].sort(),
  );
  const resolv = await devboxOk(['run', 'cat', '/etc/resolv.conf'], { cwd: root });
  assert.match(resolv.stdout, /^nameserver 10\.0\.2\.3$/m);
});

test('two projects listen on the same port inside, each published on its own host port', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const a = await project({ ports: [`${portA}:3000`] });
  const b = await project({ ports: [`${portB}:3000`] });
  await devboxOk(['run', 'sh', '-c', serve('first', 3000)], { cwd: a });
  await devboxOk(['run', 'sh', '-c', serve('second', 3000)], { cwd: b });
  assert.is(await httpGet(portA), 'first\n');
  assert.is(await httpGet(portB), 'second\n');
});

test("every entry shares the sandbox's network: a second one reaches the first one's server on 127.0.0.1", async () => {
  const port = await freePort();
  const root = await project({});
  const netns = 'readlink /proc/self/ns/net';
  const first = await devboxOk(['run', 'sh', '-c', `${serve('shared', port, '127.0.0.1')} && ${netns}`], { cwd: root });
  const second = await devboxOk(
    ['run', 'sh', '-c', `${netns}; ip -o link show tap0 | grep -c tap0; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 ${port}`],
    { cwd: root },
  );
  const [ns, taps, ...reply] = second.stdout.split('\n');
  assert.is(ns, first.stdout.trim());
  assert.ok(ns !== readlinkSync('/proc/self/ns/net'), "not the host's network");
  assert.is(taps, '1');
  assert.ok(reply.includes('shared'), second.stdout);
  assert.is(await httpGet(port), undefined, 'a listener on loopback inside is not forwarded');
});

test('"network": NAME joins a devbox network: the sandbox reaches a container by name, the container the sandbox by host name, the host its "ports"', async () => {
  await devboxOk(['network', 'create', 'project-net']);
  try {
    await devboxOk(['run', '-d', '--name', 'project-db', '--network', 'project-net', IMAGE, 'sh', '-c', 'nc -ll -p 5432 -e echo db-ok']);
    const hostPort = await freePort();
    const root = await project({ network: 'project-net', name: 'app', ports: [`${hostPort}:8000`] });
    const r = await devboxOk(
      [
        'run',
        'sh',
        '-c',
        `cat /etc/resolv.conf; for i in 1 2 3 4 5 6 7 8 9 10; do nc -w 2 project-db 5432 </dev/null && break; sleep 0.3; done; ${serve('app-ok', 8000)}`,
      ],
      { cwd: root },
    );
    assert.match(r.stdout, /^nameserver 10\.89\.\d+\.1$/m);
    assert.match(r.stdout, /db-ok/);
    const back = await devboxOk(['run', '--rm', '--network', 'project-net', IMAGE, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 app 8000']);
    assert.match(back.stdout, /app-ok/);
    assert.is(await httpGet(hostPort), 'app-ok\n');
    // The sandbox is a user of the network, as a container is: neither rm nor prune takes it away.
    await devboxOk(['rm', '-f', 'project-db']);
    const inUse = await devbox(['network', 'rm', 'project-net']);
    assert.is(inUse.stderr.split('(')[0], 'devbox: network project-net is in use by container app ');
    await devboxOk(['network', 'prune', '-f']);
    const inspected = JSON.parse((await devboxOk(['network', 'inspect', 'project-net'])).stdout)[0];
    assert.equal(
      Object.values(inspected.Containers).map((c) => (c as { Name: string; IPv4Address: string }).Name),
      ['app'],
    );
    await devboxOk(['stop'], { cwd: root });
    assert.is(await httpGet(hostPort), undefined, 'the forward ends with the sandbox');
    await devboxOk(['network', 'rm', 'project-net']);
  } finally {
    await devbox(['rm', '-f', 'project-db']);
    await devbox(['network', 'rm', '-f', 'project-net']);
  }
});

test('"network": "none" has only loopback, and no slirp4netns', async () => {
  const root = await project({ network: 'none' });
  const links = await devboxOk(['run', 'sh', '-c', 'ip -o link | cut -d: -f2'], { cwd: root });
  assert.is(links.stdout, ' lo\n');
  assert.is(sandboxOf(root).state.network, undefined);
});

test("devbox stop ends the sandbox's slirp4netns, port forwarder and port watcher and frees its host port", async () => {
  const hostPort = await freePort();
  const root = await project({ ports: [`${hostPort}:8080`] });
  await devboxOk(['run', 'sh', '-c', serve('stopped', 8080)], { cwd: root });
  const processes = networkProcesses(sandboxOf(root).state);
  assert.is(await httpGet(hostPort), 'stopped\n');
  await devboxOk(['stop'], { cwd: root });
  assert.not.ok(processes.some(running), 'gone once devbox stop returns');
  assert.is(await httpGet(hostPort), undefined);
  // Started again, it publishes the same host port.
  await devboxOk(['run', 'sh', '-c', serve('again', 8080)], { cwd: root });
  assert.is(await httpGet(hostPort), 'again\n');
});

for (const victim of ['pid', 'outerPid'] as const) {
  test(`SIGKILL to the sandbox's ${victim === 'pid' ? 'pid 1' : 'helper'}: its slirp4netns and port watcher end too; the next entry starts it again`, async () => {
    const hostPort = await freePort();
    const root = await project({ ports: [`${hostPort}:8080`] });
    await devboxOk(['run', 'true'], { cwd: root });
    const { state } = sandboxOf(root);
    const processes = networkProcesses(state);
    process.kill(state[victim], 'SIGKILL');
    await gone('the network processes to end by themselves', processes);
    await devboxOk(['run', 'sh', '-c', serve('restarted', 8080)], { cwd: root });
    assert.is(await httpGet(hostPort), 'restarted\n');
  });
}

test('a "ports" host port taken on the host: one line naming it and its process; the sandbox does not stay up', async () => {
  const held = await listenOnFreePort();
  const port = portOf(held);
  const root = await project({ ports: [`${port}:80`] });
  const slirpBefore = suiteProcesses('slirp4netns');
  try {
    const r = await devbox(['run', 'true'], { cwd: root });
    assert.is(r.exitCode, 125);
    assert.is(
      r.stderr,
      `devbox: host port 127.0.0.1:${port}/tcp is already in use by node (pid ${process.pid}) (stop it, or publish another host port: "ports": ["${port + 1}:80"] in ${root}/devbox.json)\n`,
    );
    assert.not.match((await devboxOk(['ps'])).stdout, root, 'no sandbox is up');
    assert.equal(startedSince(slirpBefore, 'slirp4netns'), [], 'a slirp4netns of the failed start is still running');
  } finally {
    await closeServer(held);
  }
});

test('slirp4netns missing: one line naming the package and the config key; nothing started', async () => {
  const root = await project({});
  const r = await devbox(['run', 'true'], { cwd: root, env: { PATH: '/nonexistent' } });
  assert.is(r.exitCode, 125);
  assert.is(
    r.stderr,
    `devbox: slirp4netns not found: it provides the isolated network (apt-get install slirp4netns, or set "network": "host" in ${root}/devbox.json)\n`,
  );
  assert.not.match((await devboxOk(['ps', '-a'])).stdout, root);
});

test.run();
