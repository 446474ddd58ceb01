/**
 * Docker Compose devcontainers end to end, with real containers on a real devbox network: the other services
 * run as devbox containers found by name from the sandbox (and the sandbox by its service's name from them),
 * they stop with `devbox stop` and come back with the next entry, `devbox rm` removes them and the network,
 * and an unsupported key is one line naming file:line, with nothing made.
 */
import { statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { eventually, freePort, httpGet, importNetworkImage } from '../helpers/network.js';
import { projectDir } from '../helpers/project.js';

const IMAGE = 'netbox:latest';
const projects: string[] = [];

/** The Compose project name devbox gives a .devcontainer/ folder's Compose file: WORKSPACE_devcontainer. */
const composeName = (root: string) => `${basename(root).toLowerCase()}_devcontainer`;

function composeProject(compose: string, devcontainer: Record<string, unknown> = {}): string {
  const root = projectDir({
    '.devcontainer/devcontainer.json': JSON.stringify({ dockerComposeFile: 'compose.yaml', service: 'app', ...devcontainer }, null, 2),
    '.devcontainer/compose.yaml': compose,
  });
  projects.push(root);
  return root;
}

/** Names of the containers (all states) with this Compose project label, sorted. */
async function containersOf(name: string, all = true): Promise<string[]> {
  const r = await devboxOk(['ps', ...(all ? ['-a'] : []), '--filter', `label=com.docker.compose.project=${name}`, '--format', '{{.Names}}']);
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function networkExists(name: string): Promise<boolean> {
  return (await devbox(['network', 'inspect', name])).exitCode === 0;
}

test.before(async () => {
  await importNetworkImage(IMAGE);
});

test.after(async () => {
  for (const root of projects) await devbox(['rm', '-f'], { cwd: root });
});

const STACK = `services:
  app:
    image: ${IMAGE}
    environment:
      FROM_COMPOSE: \${COMPOSE_TEST_VALUE:-unset}
    depends_on: [db, cache]
  cache:
    image: ${IMAGE}
    command: nc -ll -p 6379 -e echo cache-ok
  db:
    image: ${IMAGE}
    command: sh -c "echo started >> /data/starts; nc -ll -p 5432 -e echo db-ok"
    volumes:
      - dbdata:/data
volumes:
  dbdata:
`;

/** Asks a service from inside the sandbox until it answers (its listener starts beside the sandbox). */
const ask = (host: string, port: number) => `(for i in $(seq 1 50); do nc -w 2 ${host} ${port} </dev/null 2>/dev/null && exit 0; sleep 0.2; done; exit 1)`;
const askDb = ask('db', 5432);

test('app + db + cache: the dev service is the sandbox, the others containers on the project network reached by name; stop keeps, rm removes', async () => {
  const root = composeProject(STACK);
  const name = composeName(root);
  const first = await devboxOk(['run', 'sh', '-c', `echo "$FROM_COMPOSE"; ${askDb} && ${ask('cache', 6379)}`], {
    cwd: root,
    env: { COMPOSE_TEST_VALUE: 'interpolated' },
  });
  assert.equal(first.stdout.split('\n'), ['interpolated', 'db-ok', 'cache-ok', '']);
  // The sandbox joined a network whose namespace db made (with a container's id map): still you inside.
  const inside = await devboxOk(['run', 'sh', '-c', 'id -u; stat -c %u .devcontainer/compose.yaml; touch made-inside'], { cwd: root });
  assert.equal(inside.stdout.split('\n'), [String(process.getuid!()), String(process.getuid!()), '']);
  assert.is(statSync(join(root, 'made-inside')).uid, process.getuid!());
  assert.equal(await containersOf(name, false), [`${name}-cache-1`, `${name}-db-1`]);
  assert.ok(await networkExists(`${name}_default`));

  // The service reaches the sandbox by its service's name (a server started in the sandbox).
  await devboxOk(['run', 'sh', '-c', 'mkdir -p /tmp/www && echo app-ok > /tmp/www/index.html && httpd -p 8000 -h /tmp/www'], { cwd: root });
  const back = await devboxOk(['exec', `${name}-db-1`, 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 5 app 8000']);
  assert.match(back.stdout, /app-ok/);

  await devboxOk(['stop'], { cwd: root });
  assert.equal(await containersOf(name, false), [], 'devbox stop stops the services');
  assert.equal(await containersOf(name), [`${name}-cache-1`, `${name}-db-1`], 'and keeps them');

  // The next entry starts the same containers again: db's named volume still has the first start.
  assert.is((await devboxOk(['run', 'sh', '-c', `${askDb} && ${ask('cache', 6379)}`], { cwd: root })).stdout, 'db-ok\ncache-ok\n');
  const starts = await devboxOk(['exec', `${name}-db-1`, 'cat', '/data/starts']);
  assert.is(starts.stdout, 'started\nstarted\n');

  await devboxOk(['rm', '-f'], { cwd: root });
  assert.equal(await containersOf(name), [], 'devbox rm removes the services');
  assert.not.ok(await networkExists(`${name}_default`), 'and their network');
});

test('a changed service is made again at the next start; runServices leaves the others out', async () => {
  const compose = (word: string) => `services:
  app:
    image: ${IMAGE}
  db:
    image: ${IMAGE}
    command: ["nc", "-ll", "-p", "5432", "-e", "echo", "${word}"]
  cache:
    image: ${IMAGE}
    command: sleep 1000
`;
  const root = composeProject(compose('one'), { runServices: ['db'] });
  const name = composeName(root);
  assert.is((await devboxOk(['run', 'sh', '-c', askDb], { cwd: root })).stdout, 'one\n');
  assert.equal(await containersOf(name), [`${name}-db-1`]);
  writeFileSync(join(root, '.devcontainer/compose.yaml'), compose('two'));
  assert.is((await devboxOk(['run', 'sh', '-c', askDb], { cwd: root })).stdout, 'two\n');
  assert.equal(await containersOf(name), [`${name}-db-1`]);
});

test('network_mode service:db: the sandbox shares db’s network namespace — localhost reaches it, forwardPorts publish it on the host', async () => {
  const port = await freePort();
  const root = composeProject(
    `services:
  app:
    image: ${IMAGE}
    network_mode: service:db
  db:
    image: ${IMAGE}
    command: nc -ll -p ${port} -e echo db-ok
`,
    { forwardPorts: [port] },
  );
  assert.is((await devboxOk(['run', 'sh', '-c', ask('localhost', port)], { cwd: root })).stdout, 'db-ok\n');
  assert.is(await eventually('the forwarded port', () => httpGet(port)), 'db-ok\n');
});

test('an unsupported Compose key: one line naming file:line and the key; nothing is made', async () => {
  const root = composeProject(`services:
  app:
    image: ${IMAGE}
  db:
    image: ${IMAGE}
    privileged: true
`);
  const r = await devbox(['run', 'true'], { cwd: root });
  assert.is.not(r.exitCode, 0);
  const file = join(root, '.devcontainer/compose.yaml');
  assert.is(
    r.stderr,
    `devbox: ${file}:6: services.db.privileged: is not supported by devbox (remove it (see "Docker Compose" in docs/project-config.md for what devbox runs))\n`,
  );
  assert.equal(await containersOf(composeName(root)), []);
  assert.not.ok(await networkExists(`${composeName(root)}_default`));
});

test.run();
