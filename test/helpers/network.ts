/** For network tests: an image with busybox's network applets, free host ports, curl, and waiting. */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { DEVBOX_BIN, devboxOk } from './cli.js';
import { busyboxRootfs, testDir, writeTar, type TarEntry } from './images.js';

const NETWORK_APPLETS = ['httpd', 'nc', 'nslookup', 'ip'];

/** busybox with httpd, nc, nslookup and ip (and `extra` files), imported as `name`. */
export async function importNetworkImage(name = 'netbox:latest', extra: readonly TarEntry[] = []): Promise<string> {
  const dir = await testDir('netbox');
  const path = join(dir, 'rootfs.tar');
  const applets = NETWORK_APPLETS.map((a): TarEntry => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox' }));
  await writeTar(path, [...busyboxRootfs(), ...applets, ...extra]);
  await devboxOk(['image', 'import', path, name]);
  return name;
}

/** A server on 127.0.0.1 holding a port the system chose (so it is free of every other suite's). */
export function listenOnFreePort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      socket.resume(); // read what the client sends, so its end (and close) are seen
      socket.end('held by the test\n');
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export function portOf(server: Server): number {
  return (server.address() as { port: number }).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = await listenOnFreePort();
  const port = portOf(server);
  await closeServer(server);
  return port;
}

/** curl http://127.0.0.1:PORT/ (never through a proxy): the body, or undefined when nothing answers. */
export function httpGet(port: number, host = '127.0.0.1'): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('curl', ['--noproxy', '*', '--http0.9', '-sS', '--max-time', '3', `http://${host}:${port}/`], (error, stdout) =>
      resolve(error ? undefined : stdout),
    );
  });
}

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunningSandbox {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once the command has printed `text`. */
  printed(text: string): Promise<void>;
  /** Sends a line to the command's stdin (it runs with -i). */
  send(line: string): void;
  /** Closes its stdin and resolves with devbox's exit status. */
  finish(): Promise<number>;
}

/** `devbox run --rm -i ARGS…` in the background. */
export function startSandbox(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningSandbox {
  const child = spawn(process.execPath, [DEVBOX_BIN, 'run', '--rm', '-i', ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let ended = false;
  const exited = new Promise<number>((resolve) =>
    child.once('close', (code, signal) => {
      ended = true;
      resolve(code ?? (signal === 'SIGKILL' ? 137 : 143));
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    printed: async (text) => {
      await eventually(`"${text}" from the sandbox`, () => {
        if (out.includes(text)) return true;
        if (ended) throw new Error(`the sandbox ended without printing "${text}": ${err}`);
        return undefined;
      });
    },
    send: (line) => child.stdin.write(`${line}\n`),
    finish: () => {
      child.stdin.end();
      return exited;
    },
  };
}

/** The pids of slirp4netns processes below `pid`: its children, or its children's (a container's helper starts it). */
export function slirpChildren(pid: number): Promise<number[]> {
  const childrenOf = (parent: number) =>
    new Promise<number[]>((resolve) => {
      execFile('pgrep', ['-P', String(parent)], (_error, stdout) => resolve(stdout.split('\n').filter(Boolean).map(Number)));
    });
  const isSlirp = (p: number) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'slirp4netns';
    } catch {
      return false;
    }
  };
  return childrenOf(pid).then(async (children) => {
    const grandchildren = (await Promise.all(children.map(childrenOf))).flat();
    return [...children, ...grandchildren].filter(isSlirp);
  });
}
