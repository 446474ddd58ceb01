/**
 * Compose files → ServiceSpecs (src/compose/compose-file.ts), and a devcontainer.json's Compose form →
 * ProjectConfig: the subset read, interpolation, merging of several files, start order, and each refusal as
 * one line with file:line and the key.
 */
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { composeNetworks, composeService, readComposeFiles } from '../../src/compose/compose-file.js';
import { startOrder } from '../../src/compose/service-spec.js';
import { loadProject } from '../../src/project/load.js';
import { errorLine, projectDir } from '../helpers/project.js';

const ENV = { HOME: '/home/alice', DB_PASSWORD: 'secret', EMPTY: '' };

function compose(files: Record<string, string>, name = 'demo') {
  const root = projectDir(files);
  const paths = Object.keys(files)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => join(root, f));
  return { root, model: readComposeFiles(paths, name, ENV) };
}

test('a service with every supported key, interpolated; named volumes are the project’s own, binds relative to the file', () => {
  const { root, model } = compose({
    'compose.yaml': `name: My-Stack
x-common: &common
  restart: unless-stopped
services:
  db:
    <<: *common
    image: postgres:\${PG_VERSION:-16}
    environment:
      POSTGRES_PASSWORD: \${DB_PASSWORD}
      EMPTY_DEFAULT: \${EMPTY:-fallback}
      DOLLAR: $$HOME
    env_file: db.env
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
    ports: ["5432:5432"]
    command: postgres -c 'shared_buffers=64MB'
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 2s
      retries: 10
    working_dir: /srv
    user: postgres
    networks: [default]
volumes:
  pgdata:
`,
    'db.env': '# comment\nFROM_FILE="yes"\n\n',
  });
  assert.is(model.name, 'my-stack');
  assert.equal(composeService(model, 'db'), {
    name: 'db',
    image: 'postgres:16',
    env: { FROM_FILE: 'yes', POSTGRES_PASSWORD: 'secret', EMPTY_DEFAULT: 'fallback', DOLLAR: '$HOME' },
    ports: ['5432:5432'],
    volumes: [
      { type: 'volume', source: 'my-stack_pgdata', target: '/var/lib/postgresql/data', readonly: false },
      { type: 'bind', source: join(root, 'init'), target: '/docker-entrypoint-initdb.d', readonly: true },
    ],
    command: ['postgres', '-c', 'shared_buffers=64MB'],
    workdir: '/srv',
    user: 'postgres',
    restart: 'unless-stopped',
    health: { none: false, cmd: 'pg_isready -U postgres', interval: '2s', retries: '10' },
    dependsOn: [],
    network: { kind: 'networks', networks: [{ key: 'default', aliases: [] }] },
  });
});

test('the long volume syntax means what the same --mount means', () => {
  const { root, model } = compose({
    'compose.yaml': `services:
  db:
    image: postgres
    volumes:
      - type: volume
        source: pgdata
        target: /data
        volume:
          nocopy: true
      - type: bind
        source: ./init
        target: /init
        read_only: true
        consistency: cached
        bind:
          create_host_path: true
      - type: tmpfs
        target: /cache
        tmpfs:
          size: 64m
          mode: 0o1777
volumes:
  pgdata:
`,
  });
  assert.equal(composeService(model, 'db').volumes, [
    { type: 'volume', source: 'demo_pgdata', target: '/data', readonly: false, nocopy: true },
    { type: 'bind', source: join(root, 'init'), target: '/init', readonly: true },
    { type: 'tmpfs', target: '/cache', readonly: false, options: ['nosuid', 'nodev', 'size=67108864', 'mode=1777'] },
  ]);
});

test('networks: declared ones named PROJECT_KEY (or their own name), aliases, internal; network_mode; container_name', () => {
  const { model } = compose({
    'compose.yaml': `services:
  app:
    image: app
    network_mode: service:db
  db:
    image: postgres
    container_name: the-db
    networks:
      back:
        aliases: [database, pg]
  web:
    image: nginx
    networks: [front]
  tool:
    image: busybox
    network_mode: host
networks:
  back:
    driver: bridge
    internal: true
  front:
    name: shared-front
`,
  });
  const [app, db, web, tool] = ['app', 'db', 'web', 'tool'].map((name) => composeService(model, name));
  assert.equal(app!.network, { kind: 'service', service: 'db' });
  assert.equal(app!.dependsOn, [{ name: 'db', healthy: false }], 'a service in another one’s namespace starts after it');
  assert.equal(db!.network, { kind: 'networks', networks: [{ key: 'back', aliases: ['database', 'pg'] }] });
  assert.is(db!.containerName, 'the-db');
  assert.equal(tool!.network, { kind: 'host' });
  assert.equal(composeNetworks(model, [app!, db!, web!, tool!]), {
    back: { name: 'demo_back', internal: true },
    front: { name: 'shared-front', internal: false },
  });
});

test('build: a folder, or context/dockerfile/args; the image is named after the service; entrypoint leads the command', () => {
  const { root, model } = compose({
    'compose.yaml': `services:
  web:
    build: ./web
  api:
    build:
      context: api
      dockerfile: Containerfile
      args: [VERSION=2, FROM_HOST]
    entrypoint: ["/bin/server", "--verbose"]
    command: [--port, "80"]
    depends_on:
      web:
        condition: service_healthy
`,
    'web/Dockerfile': 'FROM scratch\n',
    'api/Containerfile': 'FROM scratch\n',
  });
  const web = composeService(model, 'web');
  assert.equal(web.build, { context: join(root, 'web'), dockerfile: join(root, 'web/Dockerfile'), args: {} });
  assert.is(web.image, 'localhost/demo-web:latest');
  const api = composeService(model, 'api');
  assert.equal(api.build?.args, { VERSION: '2' }, 'a KEY alone takes the host’s value, and FROM_HOST is not set');
  assert.is(api.entrypoint, '/bin/server');
  assert.equal(api.command, ['--verbose', '--port', '80']);
  assert.equal(api.dependsOn, [{ name: 'web', healthy: true }]);
});

test('a later file replaces a service’s keys and extends its environment', () => {
  const { model } = compose({
    'a.yaml': 'services:\n  db:\n    image: one\n    environment: [A=1, B=1]\n',
    'b.yaml': 'services:\n  db:\n    image: two\n    environment:\n      B: "2"\n  cache:\n    image: redis\n',
  });
  assert.equal([...model.services.keys()], ['db', 'cache']);
  const db = composeService(model, 'db');
  assert.is(db.image, 'two');
  assert.equal(db.env, { A: '1', B: '2' });
});

test('start order follows depends_on; a cycle and an unknown service are one line each', () => {
  const { model } = compose({
    'compose.yaml': 'services:\n  app:\n    image: a\n    depends_on: [db, cache]\n  db:\n    image: d\n  cache:\n    image: c\n    depends_on: [db]\n',
  });
  const services = [...model.services.keys()].map((name) => composeService(model, name));
  assert.equal(
    startOrder(services, 'f.yaml').map((s) => s.name),
    ['db', 'cache', 'app'],
  );
  const cycle = services.map((s) => (s.name === 'db' ? { ...s, dependsOn: [{ name: 'app', healthy: false }] } : s));
  assert.throws(() => startOrder(cycle, 'f.yaml'), /f\.yaml: depends_on has a cycle: app → db → app/);
  const unknown = services.map((s) => (s.name === 'db' ? { ...s, dependsOn: [{ name: 'queue', healthy: false }] } : s));
  assert.throws(() => startOrder(unknown, 'f.yaml'), /service db depends on queue, which is not a service here/);
});

test('refused, naming file:line and the key', async () => {
  const cases: [string, string][] = [
    ['services:\n  db:\n    image: x\n    privileged: true\n', ':4: services.db.privileged: is not supported by devbox'],
    ['services:\n  db:\n    image: x\n    build:\n      context: .\n      ssh: [default]\n', ':6: services.db.build.ssh: is not supported by devbox'],
    ['services:\n  db:\n    image: x\n    networks: [backend]\n', ':4: services.db.networks: network "backend" is not declared'],
    [
      'services:\n  db:\n    image: x\n    networks: [a, b]\nnetworks:\n  a:\n  b:\n',
      ':4: services.db.networks: devbox joins a service to one network (keep one of a, b)',
    ],
    [
      'services:\n  db:\n    image: x\n    networks:\n      default:\n        ipv4_address: 10.0.0.5\n',
      ':6: services.db.networks.default.ipv4_address: is not',
    ],
    ['services:\n  db:\n    image: x\n    network_mode: service:nope\n', ':4: services.db.network_mode: names "nope", which is not a service here'],
    ['services:\n  db:\n    image: x\n    network_mode: container:c1\n', ':4: services.db.network_mode: "container:c1" is not supported by devbox'],
    ['services:\n  db:\n    image: x\n    network_mode: host\n    networks: [default]\n', ':4: services.db.network_mode: cannot be given with "networks"'],
    [
      'services:\n  a:\n    image: x\n  db:\n    image: x\n    network_mode: service:a\n    ports: ["80:80"]\n',
      ':7: services.db.ports: cannot be published in the network namespace of service a',
    ],
    ['services:\n  db:\n    image: x\nnetworks:\n  n:\n    driver: overlay\n', ':6: networks.n.driver: "overlay" is not supported by devbox'],
    ['services:\n  db:\n    image: x\nnetworks:\n  n:\n    ipam: {}\n', ':6: networks.n.ipam: is not supported by devbox'],
    ['services:\n  db:\n    image: x\n    volumes: [data:/data]\n', ':4: services.db.volumes[0]: volume "data" is not declared'],
    ['services:\n  db:\n    image: x\n    volumes:\n      - type: npipe\n        target: /x\n', ':5: services.db.volumes[0]: invalid mount type "npipe"'],
    ['services:\n  db:\n    image: x\n    volumes:\n      - type: bind\n        target: /x\n', ':5: services.db.volumes[0]: a bind mount needs source=PATH'],
    ['services:\n  db:\n    image: x\n    volumes:\n      - target: /x\n        labels: {a: b}\n', ':6: services.db.volumes[0].labels: is not supported'],
    ['services:\n  db:\n    image: x\n    volumes:\n      - target: /x\n', ':5: services.db.volumes[0]: needs "type"'],
    [
      'services:\n  db:\n    image: x\n    depends_on:\n      a:\n        condition: service_completed_successfully\n',
      ':6: services.db.depends_on.a.condition: "service_completed_successfully" is not supported',
    ],
    ['secrets:\n  key:\n    file: ./key\n', ':1: secrets: is not supported by devbox'],
    ['volumes:\n  data:\n    driver: nfs\n', ':2: volumes.data: volume options are not supported by devbox'],
    ['services:\n  db:\n    image: [x]\n', ':3: services.db.image: expected a string or a number'],
    ['services:\n  db:\n   image: x\n  bad\n', ':4: '],
  ];
  for (const [text, expected] of cases) {
    const root = projectDir({ 'compose.yaml': text });
    const line = await errorLine(() => {
      const model = readComposeFiles([join(root, 'compose.yaml')], 'demo', ENV);
      for (const name of model.services.keys()) composeService(model, name);
    });
    assert.ok(line.startsWith(`${join(root, 'compose.yaml')}${expected}`), `${line}\n  expected: ${expected}`);
  }
});

test('devcontainer.json with dockerComposeFile: the service is the sandbox, the others its services, on the project network', () => {
  const root = projectDir({
    '.devcontainer/devcontainer.json': JSON.stringify({
      name: 'stack',
      dockerComposeFile: ['compose.yaml', 'compose.extra.yaml'],
      service: 'app',
      runServices: ['db'],
      containerEnv: { FROM_JSON: 'json' },
      forwardPorts: [3000, 'db:5432'],
    }),
    '.devcontainer/compose.yaml':
      'services:\n  app:\n    image: devimage\n    environment: [FROM_COMPOSE=compose]\n    volumes: ["../..:/workspaces:cached"]\n    ports: ["3000:3000"]\n    command: sleep infinity\n    depends_on: [cache]\n  db:\n    image: postgres\n    depends_on: [app]\n  cache:\n    image: redis\n  queue:\n    image: rabbitmq\n',
    '.devcontainer/compose.extra.yaml': 'services:\n  app:\n    user: vscode\n',
  });
  const config = loadProject(root, { env: ENV, home: '/home/alice' });
  const name = `${root.split('/').pop()!.toLowerCase()}_devcontainer`;
  assert.equal(config.environment, { kind: 'image', image: 'devimage' });
  assert.equal(config.metadata.containerEnv, { FROM_COMPOSE: 'compose', FROM_JSON: 'json' });
  assert.is(config.metadata.containerUser, 'vscode');
  assert.equal(config.mounts, [{ type: 'bind', source: join(root, '..'), target: '/workspaces', readonly: false }]);
  assert.is(config.network, 'none');
  assert.is(config.networkName, `${name}_default`);
  assert.is(config.hostname, 'app');
  assert.equal(config.ports, [{ hostPort: 3000, containerPort: 3000, protocol: 'tcp' }]);
  assert.equal(
    config.services?.group.services.map((s) => [s.name, s.dependsOn.map((d) => d.name)]),
    [
      ['db', []],
      ['cache', []],
      ['queue', []],
    ],
  );
  assert.equal(config.services?.up, ['db', 'cache']);
  assert.equal(config.services?.files, [join(root, '.devcontainer/compose.yaml'), join(root, '.devcontainer/compose.extra.yaml')]);
  assert.equal(config.warnings.length, 2, config.warnings.join('\n'));
  assert.match(config.warnings.join('\n'), /devbox ignores ports of service app/);
});

test('devcontainer.json with dockerComposeFile: a dev service in network_mode service:db shares db’s namespace; one on a named network joins it', () => {
  const project = (app: string) =>
    loadProject(
      projectDir({
        '.devcontainer/devcontainer.json': JSON.stringify({ dockerComposeFile: 'compose.yaml', service: 'app' }),
        '.devcontainer/compose.yaml': `services:\n  app:\n    image: devimage\n${app}  db:\n    image: postgres\n    networks: [back]\nnetworks:\n  back:\n`,
      }),
      { env: ENV, home: '/home/alice' },
    );
  const shared = project('    network_mode: service:db\n');
  const name = `${shared.root.split('/').pop()!.toLowerCase()}_devcontainer`;
  assert.equal([shared.network, shared.networkName, shared.networkShareWith], ['none', undefined, `${name}-db-1`]);
  assert.equal(shared.services?.group.networks, { back: { name: `${name}_back`, internal: false } });
  const joined = project('    networks: [back]\n');
  assert.equal([joined.network, joined.networkShareWith], ['none', undefined]);
  assert.is(joined.networkName, `${joined.root.split('/').pop()!.toLowerCase()}_devcontainer_back`);
});

test.run();
