/**
 * A project's services are built beside its environment, not after it (the postgres template's db service):
 * a RUN of each build marks its arrival in a cache mount both share and waits (a minute at most) for the
 * other's mark, so the entry only succeeds when the two builds run at the same time. Their output is still
 * one build after the other.
 */
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox } from '../helpers/images.js';
import { projectDir } from '../helpers/project.js';

const projects: string[] = [];

test.before(async () => {
  await importBusybox();
});

test.after(async () => {
  for (const root of projects) {
    await devbox(['rm', '-f'], { cwd: root });
    await devbox(['services', 'down'], { cwd: root });
  }
});

/** A project whose environment and db service meet at barrier `pair` in a RUN; `env` is the environment's last step. */
function project(pair: string, env = 'RUN true'): string {
  const meet = (self: string, other: string) =>
    `RUN --mount=type=cache,id=build-services-test,target=/barrier touch /barrier/${pair}-${self} && echo ${self} > /built \\
 && i=0 && while [ $i -lt 600 ]; do [ -e /barrier/${pair}-${other} ] && exit 0; sleep 0.1; i=$((i + 1)); done; exit 1`;
  const root = projectDir({
    Dockerfile: `FROM busybox:latest\n${meet('env', 'db')}\n${env}\n`,
    'db.Dockerfile': `FROM busybox:latest\n${meet('db', 'env')}\nCMD ["sleep", "1000"]\n`,
    'devbox.json': JSON.stringify({ build: { dockerfile: 'Dockerfile' }, services: { db: { build: { dockerfile: 'db.Dockerfile' } } } }),
  });
  projects.push(root);
  return root;
}

test("a project's service image is built at the same time as its environment, its output after the environment's", async () => {
  const root = project('1');
  const entry = await devboxOk(['run', 'cat', '/built'], { cwd: root });
  assert.is(entry.stdout, 'env\n');
  const steps = entry.stderr.split('\n').filter((line) => line.startsWith('STEP '));
  assert.equal(
    steps.map((line) => line.replace(/ touch .*/, '')),
    [
      'STEP 1/3: FROM busybox:latest',
      'STEP 2/3: RUN --mount=type=cache,id=build-services-test,target=/barrier',
      'STEP 3/3: RUN true',
      'STEP 1/3: FROM busybox:latest',
      'STEP 2/3: RUN --mount=type=cache,id=build-services-test,target=/barrier',
      'STEP 3/3: CMD ["sleep", "1000"]',
    ],
    entry.stderr,
  );
  const name = (await devboxOk(['services', 'ls', '-q'], { cwd: root })).stdout.trim();
  assert.ok(name, 'the db service runs');
  assert.is((await devboxOk(['exec', name, 'cat', '/built'])).stdout, 'db\n');
});

test("the environment's build failing is what the entry reports", async () => {
  const root = project('2', 'RUN exit 3');
  const entry = await devbox(['run', 'true'], { cwd: root });
  assert.is.not(entry.exitCode, 0);
  const error = entry.stderr.trim().split('\n').pop()!;
  assert.match(error, /\/Dockerfile:4: RUN exit 3: the command exited with status 3$/, entry.stderr);
});

test('services up builds the services at the same time, as docker compose up does', async () => {
  const meet = (self: string, other: string) =>
    `RUN --mount=type=cache,id=build-services-test,target=/barrier touch /barrier/3-${self} \\
 && i=0 && while [ $i -lt 600 ]; do [ -e /barrier/3-${other} ] && exit 0; sleep 0.1; i=$((i + 1)); done; exit 1`;
  const root = projectDir({
    'db.Dockerfile': `FROM busybox:latest\n${meet('db', 'web')}\nCMD ["sleep", "1000"]\n`,
    'web.Dockerfile': `FROM busybox:latest\n${meet('web', 'db')}\nCMD ["sleep", "1000"]\n`,
    'devbox.json': JSON.stringify({
      image: 'busybox:latest',
      services: { db: { build: { dockerfile: 'db.Dockerfile' } }, web: { build: { dockerfile: 'web.Dockerfile' }, dependsOn: ['db'] } },
    }),
  });
  projects.push(root);
  const up = await devboxOk(['services', 'up'], { cwd: root });
  assert.equal(up.stdout.trim().split('\n').length, 2, up.stdout);
});

test.run();
