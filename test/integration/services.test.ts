/**
 * devbox.json's "services" and `devbox services up|down|ls|logs`, with real containers on the project's devbox
 * network: the same runner as Docker Compose devcontainers (compose.test.ts), driven from the command line.
 */
import { basename } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importNetworkImage } from '../helpers/network.js';
import { projectDir } from '../helpers/project.js';

const IMAGE = 'netbox:latest';
const projects: string[] = [];

function project(services: Record<string, unknown>): string {
  const root = projectDir({ 'devbox.json': JSON.stringify({ image: IMAGE, services }, null, 2) });
  projects.push(root);
  return root;
}

async function networkExists(name: string): Promise<boolean> {
  return (await devbox(['network', 'inspect', name])).exitCode === 0;
}

test.before(async () => {
  await importNetworkImage(IMAGE);
});

test.after(async () => {
  for (const root of projects) {
    await devbox(['rm', '-f'], { cwd: root });
    await devbox(['services', 'down'], { cwd: root });
  }
});

test('services up starts them in order, ls lists them, logs shows their output, the sandbox reaches them by name, down removes them', async () => {
  const root = project({
    db: { image: IMAGE, command: 'sh -c "echo db is up; nc -ll -p 5432 -e echo db-ok"', healthcheck: 'true' },
    web: { image: IMAGE, command: ['sh', '-c', 'echo web is up; exec sleep 1000'], dependsOn: ['db'] },
  });
  const name = basename(root).toLowerCase();
  const up = await devboxOk(['services', 'up'], { cwd: root });
  assert.is(up.stdout, `${name}-db-1\n${name}-web-1\n`);

  const ls = await devboxOk(['services', 'ls'], { cwd: root });
  const rows = ls.stdout.trim().split('\n');
  assert.match(rows[0], /^NAME\s+IMAGE\s+SERVICE\s+STATUS$/);
  assert.equal(
    rows.slice(1).map((row) => row.split(/\s{2,}/).slice(0, 3)),
    [
      [`${name}-db-1`, IMAGE, 'db'],
      [`${name}-web-1`, IMAGE, 'web'],
    ],
  );
  assert.ok(
    rows.slice(1).every((row) => / Up /.test(` ${row.split(/\s{2,}/)[3]} `)),
    ls.stdout,
  );

  const reply = await devboxOk(['run', 'sh', '-c', 'for i in $(seq 1 50); do nc -w 2 db 5432 </dev/null 2>/dev/null && exit 0; sleep 0.2; done; exit 1'], {
    cwd: root,
  });
  assert.is(reply.stdout, 'db-ok\n');

  // The containers write their first line soon after they start: wait for it, then look at both forms.
  let all = '';
  for (const deadline = Date.now() + 30_000; Date.now() < deadline && !(all.includes('db is up') && all.includes('web is up')); ) {
    all = (await devboxOk(['services', 'logs'], { cwd: root })).stdout;
  }
  assert.ok(all.split('\n').includes(`${name}-db-1   | db is up`), all);
  assert.ok(all.split('\n').includes(`${name}-web-1  | web is up`), all);
  assert.is((await devboxOk(['services', 'logs', 'db'], { cwd: root })).stdout, 'db is up\n');

  const down = await devboxOk(['services', 'down'], { cwd: root });
  assert.equal(down.stdout.split('\n').filter(Boolean).sort(), [`${name}-db-1`, `${name}-web-1`]);
  assert.is((await devboxOk(['services', 'ls', '-q'], { cwd: root })).stdout, '');
  assert.ok(await networkExists(`${name}_default`), 'the network stays while the sandbox is up on it');
  await devboxOk(['rm', '-f'], { cwd: root });
  assert.not.ok(await networkExists(`${name}_default`));
});

test('an unknown service, a project without services: one line each', async () => {
  const root = project({ db: { image: IMAGE } });
  const unknown = await devbox(['services', 'up', 'nope'], { cwd: root });
  assert.is(unknown.exitCode, 125);
  assert.is(unknown.stderr, `devbox: no service "nope" in ${root}/devbox.json (name one of: db)\n`);
  const plain = projectDir({ 'devbox.json': JSON.stringify({ image: IMAGE }) });
  const none = await devbox(['services', 'ls'], { cwd: plain });
  assert.is(none.exitCode, 1);
  assert.is(none.stderr, `devbox: ${plain}/devbox.json has no services (add a "services" section to it (docs/project-config.md))\n`);
});

test.run();
