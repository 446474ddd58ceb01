import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { loadProject } from '../../src/project/load.js';
import { SCHEMA_PATH, TEMPLATES_DIR } from '../../src/project/package-files.js';
import { initProject, listTemplates } from '../../src/project/templates.js';
import { errorLine, projectDir } from '../helpers/project.js';

const NAMES = ['base', 'go', 'java', 'node', 'postgres', 'python', 'rust'];

test('the templates are listed base first, each with the first line of its Dockerfile header', () => {
  const templates = listTemplates();
  assert.equal(
    templates.map((t) => t.name),
    NAMES,
  );
  for (const t of templates) {
    const dockerfile = readFileSync(join(TEMPLATES_DIR, t.name, 'Dockerfile'), 'utf8');
    assert.ok(t.description.length > 20, t.name);
    assert.ok(dockerfile.startsWith(`# ${t.description}\n`), t.name);
  }
});

test('every template shares the same base layers and keeps apt downloads in a cache mount', () => {
  const dockerfiles = NAMES.map((name) => readFileSync(join(TEMPLATES_DIR, name, 'Dockerfile'), 'utf8'));
  // The last stage, from its FROM to the end of the base template, is the common prefix every template
  // builds on (stages before it fetch what Debian does not carry: node's Node.js).
  const fromLine = (dockerfile: string) => dockerfile.slice(dockerfile.lastIndexOf('\nFROM ') + 1);
  const base = fromLine(dockerfiles[0]);
  assert.match(base, /^FROM debian:bookworm-slim\n/);
  for (const [index, dockerfile] of dockerfiles.entries()) {
    assert.ok(fromLine(dockerfile).startsWith(base), NAMES[index]);
    const installs = dockerfile.split(/\n(?=RUN )/).filter((step) => /apt-get .* install /.test(step));
    assert.ok(installs.length >= 1, NAMES[index]);
    for (const install of installs) {
      // One cache mount per step (podman 4.3 hangs on a second step holding two), the package lists in it:
      // out of the layer, and still there for the next step's update.
      assert.match(
        install,
        /^RUN --mount=type=cache,target=\/var\/cache\/apt,sharing=locked \\\n {4}mkdir -p \/var\/cache\/apt\/lists \\\n && apt-get -o Dir::State::Lists=\/var\/cache\/apt\/lists update \\\n/,
        NAMES[index],
      );
      assert.not.match(install, /apt-get (?!-o Dir::State::Lists=\/var\/cache\/apt\/lists )/, NAMES[index]);
    }
  }
});

test('every download of a template is pinned by its sha256 and goes through an argument a mirror can replace', () => {
  let downloads = 0;
  for (const name of NAMES) {
    const dockerfile = readFileSync(join(TEMPLATES_DIR, name, 'Dockerfile'), 'utf8');
    for (const add of dockerfile.split(/\n(?=[A-Z]+ )/).filter((step) => /^ADD .*(https?:|\$\{)/s.test(step))) {
      downloads++;
      assert.match(add, /^ADD --checksum=sha256:[0-9a-f]{64} \\\n {4}\$\{NPM_REGISTRY\}\//, `${name}: ${add}`);
    }
  }
  assert.ok(downloads >= 3, 'the node template downloads Node.js for two architectures and npm');
});

for (const name of NAMES) {
  test(`init --template ${name} writes a project that loads`, async () => {
    const root = projectDir();
    const written = await initProject(root, { template: name });
    const extra = name === 'postgres' ? [join(root, '.devbox/postgres.Dockerfile')] : [];
    assert.equal(written, [join(root, 'devbox.json'), join(root, '.devbox/Dockerfile'), ...extra, join(root, '.devbox/devbox.schema.json')]);
    assert.is(readFileSync(join(root, '.devbox/Dockerfile'), 'utf8'), readFileSync(join(TEMPLATES_DIR, name, 'Dockerfile'), 'utf8'));
    assert.is(readFileSync(join(root, '.devbox/devbox.schema.json'), 'utf8'), readFileSync(SCHEMA_PATH, 'utf8'));
    const config = loadProject(root, { env: {}, home: '/home/alice' });
    assert.equal(config.environment, { kind: 'dockerfile', dockerfile: join(root, '.devbox/Dockerfile'), context: join(root, '.devbox'), buildArgs: {} });
    // Language templates keep their package manager's cache in a named volume under the home folder.
    for (const mount of config.mounts) {
      assert.is(mount.type, 'volume');
      assert.ok(mount.type === 'volume' && mount.source?.startsWith('devbox-') && mount.target.startsWith('/home/alice/'), JSON.stringify(mount));
    }
    assert.is(config.mounts.length === 0, name === 'base' || name === 'postgres');
  });
}

test('the postgres template: a db service built from Debian packages, its data in a volume of the project, psql pointed at it', async () => {
  const root = projectDir();
  await initProject(root, { template: 'postgres' });
  const config = loadProject(root, { env: {}, home: '/home/alice' });
  const [db] = config.services?.group.services ?? [];
  assert.is(db?.name, 'db');
  assert.equal(db?.build, { dockerfile: join(root, '.devbox/postgres.Dockerfile'), context: join(root, '.devbox'), args: {} });
  assert.equal(db?.volumes, [{ type: 'volume', source: `${config.services!.group.name}_pgdata`, target: '/var/lib/postgresql/data', readonly: false }]);
  assert.is(config.metadata.remoteEnv?.PGHOST, 'db');
  const postgres = readFileSync(join(TEMPLATES_DIR, 'postgres', 'postgres.Dockerfile'), 'utf8');
  // Debian's package, not an image from Docker Hub: the template works where only Debian's mirrors are reachable.
  assert.match(postgres, /^FROM debian:bookworm-slim$/m);
  assert.match(postgres, /apt-get -o Dir::State::Lists=\/var\/cache\/apt\/lists install -y --no-install-recommends postgresql-15/);
});

test('init refuses to overwrite devbox.json or the Dockerfile without force, and writes nothing', async () => {
  const root = projectDir({ 'devbox.json': '{"image": "mine"}\n' });
  assert.is(
    await errorLine(() => initProject(root, { template: 'node' })),
    `${join(root, 'devbox.json')} already exists; nothing written (devbox init --force overwrites them)`,
  );
  assert.is(readFileSync(join(root, 'devbox.json'), 'utf8'), '{"image": "mine"}\n');
  assert.throws(() => readFileSync(join(root, '.devbox/Dockerfile')), /ENOENT/);
  await initProject(root, { template: 'node', force: true });
  assert.match(readFileSync(join(root, 'devbox.json'), 'utf8'), /devbox-npm-cache/);
});

test('an unknown template names the known ones', async () => {
  const root = projectDir();
  assert.is(await errorLine(() => initProject(root, { template: 'cobol' })), `unknown template "cobol" (choose one of: ${NAMES.join(', ')})`);
});

test("init keeps an existing file's mode when forced", async () => {
  const root = projectDir({ 'devbox.json': '{}' });
  chmodSync(join(root, 'devbox.json'), 0o600);
  await initProject(root, { force: true });
  assert.is(statSync(join(root, 'devbox.json')).mode & 0o777, 0o600);
});

test.run();
