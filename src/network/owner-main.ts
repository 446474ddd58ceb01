/**
 * The devbox networks' owner (owner.ts, docs/networking.md): root of the user namespace every network's and
 * every networked sandbox's namespaces are made in, with no network of its own. It only keeps the namespace
 * joinable: it looks at its members (members/PID-START, written by the devbox that starts each) twice a
 * second, forgets those that have ended, and goes when none is left, under the owner's lock, so that no
 * start finds it going. A start that died before it added a member leaves an owner that goes after a while.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../util/file-lock.js';
import { startTimeOf } from '../util/processes.js';
import type { OwnerConfig } from './owner.js';

const config = JSON.parse(process.argv[2]) as OwnerConfig;
const POLL_MS = 500;
/** How long an owner no member has joined waits before it goes: its starter died before it added one. */
const FIRST_MEMBER_MS = 30_000;
const born = Date.now();
let hadMembers = false;

/** How many members still run; the files of those that ended are removed. */
function liveMembers(): number {
  let live = 0;
  for (const file of readdirSync(config.members)) {
    // One that joined and ended between two looks counts too: the owner had members.
    hadMembers = true;
    const [pid, start] = file.split('-');
    if (startTimeOf(Number(pid)) === start) live++;
    else rmSync(join(config.members, file), { force: true });
  }
  return live;
}

async function look(): Promise<void> {
  if (liveMembers()) return;
  if (!hadMembers && Date.now() - born < FIRST_MEMBER_MS) return;
  const leave = await withFileLock(config.lock, 'the devbox networks', async () => {
    if (liveMembers()) return false;
    rmSync(config.stateFile, { force: true });
    return true;
  });
  if (leave) process.exit(0);
}

let looking = false;
setInterval(() => {
  if (looking) return;
  looking = true;
  look()
    .catch((error) => process.stderr.write(`devbox networks' owner: ${(error as Error).message}\n`))
    .finally(() => (looking = false));
}, POLL_MS);
process.stdout.write('ready\n');
