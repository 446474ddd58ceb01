/**
 * The helper's forward-ports mode (native/forward.c) on the program itself: a TCP port on the host forwarded
 * into a network namespace of the caller's own (unshare -Urn), both ways, with half-close; refusals in one line
 * before anything listens; the end when the exit fd hangs up. It runs the sanitizer build, as the contract suite.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { eventually } from '../helpers/network.js';
import { isAlive } from '../../src/util/processes.js';

const HELPER = fileURLToPath(new URL('../../../native/devbox-helper-sanitized', import.meta.url));
const INSIDE_PORT = 8000;

/** In a network namespace of its own: answers each connection, once the client has sent all, with what it got. */
const SERVER = `
const server = require('node:net').createServer((c) => {
  let bytes = 0;
  c.on('data', (d) => { bytes += d.length; });
  c.on('end', () => c.end('got ' + bytes + ' bytes'));
});
server.listen(${INSIDE_PORT}, '127.0.0.1', () => console.log('listening'));
`;

let inside: ChildProcess;
const started: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    stream.on('data', (d) => {
      text += d;
      if (text.includes('\n')) resolve(text.split('\n')[0]);
    });
    stream.once('end', () => resolve(text));
  });
}

/** The forwarder for `specs`, with its exit fd (fd 3) a socket whose other end this test holds. */
function forwarder(specs: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number> } {
  const child = spawn(HELPER, ['forward-ports', String(inside.pid), '3', ...specs], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? 128)));
  return { child, stderr: () => stderr, exited };
}

/** Sends `bytes` through host port `port`, half-closes, and returns the whole reply. */
function roundTrip(port: number, bytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.on('data', (d) => (reply += d));
    // A connection the forwarder closes unread is reset: that is its answer when nothing listens inside.
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve(`${reply}(reset)`) : reject(error)));
    socket.once('close', () => resolve(reply));
    socket.end(Buffer.alloc(bytes, 7));
  });
}

test.before(async () => {
  inside = spawn('unshare', ['-Urn', 'sh', '-c', `ip link set lo up && exec "${process.execPath}" -e "$0"`, SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  assert.is(await firstLine(inside.stdout!), 'listening');
});

test.after(() => {
  for (const c of [...started, inside]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

test('bytes go both ways through the forwarded port, with the half-close; a port nothing listens on inside is closed', async () => {
  const [port, deadPort] = [await freePort(), await freePort()];
  const f = forwarder([`127.0.0.1:${port}:${INSIDE_PORT}`, `127.0.0.1:${deadPort}:${INSIDE_PORT + 1}`]);
  assert.is(await firstLine(f.child.stdout!), 'ready', f.stderr());
  const size = 8 * 1024 * 1024 + 3;
  const [a, b] = await Promise.all([roundTrip(port, size), roundTrip(port, 1)]);
  assert.is(a, `got ${size} bytes`);
  assert.is(b, 'got 1 bytes');
  assert.match(await roundTrip(deadPort, 10), /^(|\(reset\))$/);
  // The sandbox is gone when its end of the exit fd hangs up: the forwarder ends, its port is free again.
  (f.child.stdio[3] as Socket).destroy();
  assert.is(await f.exited, 0);
  await new Promise<void>((resolve, reject) => {
    const s = createServer()
      .once('error', reject)
      .listen(port, '127.0.0.1', () => s.close(() => resolve()));
  });
  assert.is(f.stderr(), '');
});

test('a host port in use, a malformed mapping, a process that is not there: one line, status 1, nothing listening', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const busyPort = (busy.address() as AddressInfo).port;
  try {
    const inUse = forwarder([`127.0.0.1:${busyPort}:${INSIDE_PORT}`]);
    assert.is(await inUse.exited, 1);
    assert.match(inUse.stderr(), new RegExp(`^devbox-helper: cannot listen on 127\\.0\\.0\\.1:${busyPort}: Address already in use\\n$`));
  } finally {
    busy.close();
  }
  const malformed = forwarder(['127.0.0.1:80']);
  assert.is(await malformed.exited, 1);
  assert.match(malformed.stderr(), /^devbox-helper: forward-ports: not HOST_IP:HOST_PORT:PORT: "127\.0\.0\.1:80"\n$/);
  const port = await freePort();
  const gone = spawn(HELPER, ['forward-ports', '999999', '3', `127.0.0.1:${port}:${INSIDE_PORT}`], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  gone.stderr!.on('data', (d) => (stderr += d));
  const status = await new Promise<number>((resolve) => gone.once('close', (code) => resolve(code ?? 128)));
  assert.is(status, 1);
  assert.match(stderr, /^devbox-helper: forward-ports: the sandbox's namespaces \(pid 999999\): No such file or directory\n$/);
  await eventually('nothing to listen on the port', () => (isAlive(gone.pid!) ? undefined : true));
});

test.run();
