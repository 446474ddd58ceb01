/**
 * `node port-watcher.js DIR PID PUBLISHED [ATTRIBUTES]`: the auto-forward watcher of a live project sandbox, a process of
 * its own because the sandbox outlives the command that starts it (live-network.ts). It forwards the
 * listeners of the sandbox whose pid 1 is PID through the slirp4netns API socket in DIR, records every
 * forward in DIR/ports.json for `devbox ports`, and exits when descriptor 3 hangs up: the other end is held
 * by the sandbox's pid 1 alone, so that is when the sandbox ends, however it ends.
 */
import { Socket } from 'node:net';
import { Slirp4netnsApi } from '../network/api.js';
import type { PortAttributeRules } from '../network/options.js';
import type { PortMapping } from '../network/port-mapping.js';
import { watchForwards } from '../network/sandbox-network.js';
import { describeError } from '../util/errors.js';
import { writePorts } from './containers.js';

const [dir, pid, published, attributes] = process.argv.slice(2);
const forwarder = watchForwards(
  { pid: Number(pid), api: new Slirp4netnsApi(dir) },
  JSON.parse(published) as PortMapping[],
  (forwards) => writePorts(dir, forwards),
  // Its stderr is a log in DIR; the sandbox stays up without auto-forward.
  (error) => process.stderr.write(`port auto-forward stopped: ${describeError(error)}\n`),
  attributes ? (JSON.parse(attributes) as PortAttributeRules) : undefined,
);
const lifetime = new Socket({ fd: 3, readable: true, writable: false });
const end = () => void forwarder.stop().then(() => process.exit(0));
lifetime.on('close', end);
lifetime.on('error', end);
lifetime.resume();
