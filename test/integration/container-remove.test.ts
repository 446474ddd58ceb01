/**
 * `devbox rm` leaves nothing of a container behind: its writable layer holds files of other ids (subordinate
 * ids, as a user with them; uid 1000, as root), a directory of mode 0 and a sticky one, and a symlink out to the
 * host, which is removed and never followed. devbox deletes what the caller owns itself and hands the rest to
 * the helper as root of the user namespace; both halves are exercised, under the default map (container root is
 * the caller) and, as a user with subordinate ids, --userns=keep-id run as root (container root is a subordinate id).
 */
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, testDir } from '../helpers/images.js';
import { test } from '../helpers/test.js';
import { resolveIdMapping } from '../../src/userns/idmap.js';

const IMAGE = 'rm-busybox:latest';
const uid = process.getuid!();
const otherIds = uid === 0 || resolveIdMapping().mapping.full;
const containersDir = () => join(process.env.XDG_DATA_HOME!, 'devbox', 'containers');
const made: string[] = [];

/** A container that ran and left files of other ids, a mode-0 and a sticky directory, and a symlink to `hostDir`. */
async function leaveFiles(name: string, userns: string[], hostDir: string): Promise<string> {
  const chown = otherIds ? 'chown -R 1000:1000 /d /sticky/x /g' : 'true';
  const script = `mkdir -p /d/e /sticky && touch /d/e/f /g /sticky/x && ${chown} && chmod 0 /d/e && chmod 1777 /sticky && ln -s ${hostDir} /link`;
  await devboxOk(['container', 'run', '--name', name, ...userns, '--network', 'host', IMAGE, 'sh', '-c', script]);
  made.push(name);
  const id = (await devboxOk(['inspect', '-f', '{{.Id}}', name])).stdout.trim();
  const dir = join(containersDir(), id);
  if (otherIds) assert.is.not(statSync(join(dir, 'upper', 'g')).uid, uid, `${name}: a file of another id in its writable layer`);
  return dir;
}

test.before(async () => {
  await importBusybox(IMAGE);
});

test.after(async () => {
  for (const name of made) await devbox(['rm', '-f', name]);
});

test('rm of exited containers (default map, keep-id as root, never started) removes every file, following no symlink', async () => {
  const hostDir = await testDir('rm-host');
  mkdirSync(join(hostDir, 'kept'));
  writeFileSync(join(hostDir, 'kept', 'file'), 'not the container’s\n');
  // keep-id needs subordinate ids (and is the identity map as root): else a second container under --userns=host.
  const other = otherIds && uid !== 0 ? ['--userns=keep-id', '-u', '0'] : ['--userns=host'];
  const dirs = [await leaveFiles('rm-default', [], hostDir), await leaveFiles('rm-other', other, hostDir)];
  await devboxOk(['container', 'create', '--name', 'rm-created', IMAGE, 'true']);
  made.push('rm-created');
  const result = await devboxOk(['rm', 'rm-default', 'rm-other', 'rm-created']);
  assert.equal(result.stdout.trim().split('\n'), ['rm-default', 'rm-other', 'rm-created']);
  for (const dir of dirs) assert.not.ok(existsSync(dir), `${dir} is left`);
  const left = (await devboxOk(['ps', '-a', '--format', '{{.Names}}'])).stdout.split('\n');
  for (const name of ['rm-default', 'rm-other', 'rm-created']) assert.not.ok(left.includes(name), `${name} is still listed`);
  assert.ok(existsSync(join(hostDir, 'kept', 'file')), 'the symlink’s target was followed');
  // Their names are free again.
  await devboxOk(['container', 'create', '--name', 'rm-default', IMAGE, 'true']);
  await devboxOk(['rm', 'rm-default']);
});

test('rm -f of a running container removes it and its files too', async () => {
  await devboxOk(['run', '-d', '--name', 'rm-running', '--network', 'host', IMAGE, 'sh', '-c', 'mkdir /d && chmod 0 /d && exec sleep 1000']);
  made.push('rm-running');
  const id = (await devboxOk(['inspect', '-f', '{{.Id}}', 'rm-running'])).stdout.trim();
  await devboxOk(['rm', '-f', 'rm-running']);
  assert.not.ok(existsSync(join(containersDir(), id)), 'its directory is left');
});

test.run();
