/**
 * The helper's forward-ports mode (native/README.md): published TCP ports, from sockets on the host into a
 * sandbox's network namespace, spliced. It ends by itself when the sandbox does (its lifetime socket hangs up).
 */
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { spawnBeside } from '../util/exec.js';
import { helperPath, lastHelperMessage } from './helper.js';

const LOG_NAME = 'port-forwarder.log';

export interface TcpForward {
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface PortForwarderProcess {
  pid: number;
  exited: Promise<void>;
  kill(): void;
}

/** The helper could not listen on a host port: `message` is the system's reason ("Address already in use"). */
export class HostPortRefused extends Error {
  constructor(
    readonly hostIp: string,
    readonly hostPort: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the forwarder for the sandbox whose pid 1 is `pid`; resolves once every host port listens. A host port
 * it cannot listen on rejects with HostPortRefused, anything else with an Error; nothing then stays running.
 * `detached`: it outlives this process (a detached container's, a live sandbox's).
 */
export async function startPortForwarder(
  sandbox: { pid: number; lifetime: Socket },
  forwards: readonly TcpForward[],
  dir: string,
  detached: boolean,
): Promise<PortForwarderProcess> {
  const specs = forwards.map((f) => `${f.hostIp}:${f.hostPort}:${f.containerPort}`);
  const log = openSync(join(dir, LOG_NAME), 'w', 0o600);
  let child: Awaited<ReturnType<typeof spawnBeside>>;
  try {
    child = await spawnBeside(helperPath(), ['forward-ports', String(sandbox.pid), '3', ...specs], {
      cwd: dir,
      stdio: ['ignore', 'pipe', log, sandbox.lifetime],
      detached,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<boolean>((resolve) => {
    const stdout = child.stdout as Readable;
    stdout.once('data', () => resolve(true));
    stdout.once('end', () => resolve(false));
    stdout.on('error', () => resolve(false));
  });
  (child.stdout as Readable).destroy();
  if (!ready) {
    await exited;
    const message = lastHelperMessage(join(dir, LOG_NAME));
    const refused = /^cannot listen on (.+):(\d+): (.*)$/.exec(message);
    if (refused) throw new HostPortRefused(refused[1], Number(refused[2]), refused[3]);
    throw new Error(`the port forwarder did not start: ${message}`);
  }
  return { pid: child.pid!, exited, kill: () => child.kill('SIGKILL') };
}
