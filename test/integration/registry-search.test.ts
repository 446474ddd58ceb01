/**
 * devbox search against a real registry (docker-registry on 127.0.0.1): its catalog searched by a term,
 * --limit/--format/--json, --list-tags, a mirror standing in for Docker Hub, and one-line errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { createImageSuite, dockerArchive, once, type ImageSuite } from '../helpers/image-suite.js';
import { packTar } from '../helpers/images.js';
import { seedImage, startRegistry, type TestRegistry } from '../helpers/registry.js';

let suite: ImageSuite;
let registry: TestRegistry;

const fixtures = once(async () => {
  suite = await createImageSuite('search');
  registry = await startRegistry(await suite.tempDir('registry'));
  const archive = join(await suite.tempDir('seed'), 'image.tar');
  writeFileSync(archive, await dockerArchive([{ layers: [await packTar([{ name: 'hello', content: 'hello\n' }])], names: ['seed:1'] }]));
  for (const ref of ['team/app:1', 'team/app:2', 'team/api:1', 'other/db:1']) await seedImage(archive, `${registry.host}/${ref}`);
});

test.before.each(fixtures);

test.after(async () => {
  await registry?.stop();
  await suite?.cleanup();
});

test('a registry is searched through its catalog: names containing the term, under the registry', async () => {
  const found = await suite.devboxOk(['search', `${registry.host}/app`]);
  const [header, ...rows] = found.stdout.trimEnd().split('\n');
  assert.equal(header.split(/\s+/), ['NAME', 'DESCRIPTION']);
  assert.equal(rows, [`${registry.host}/team/app`]);
  const all = await suite.devboxOk(['search', '--format', '{{.Name}}', `${registry.host}/`]);
  assert.equal(all.stdout.trim().split('\n'), [`${registry.host}/other/db`, `${registry.host}/team/api`, `${registry.host}/team/app`]);
  const limited = await suite.devboxOk(['search', '--limit', '2', '--json', `${registry.host}/TEAM`]);
  assert.equal(
    (JSON.parse(limited.stdout) as { Name: string; Index: string }[]).map((r) => [r.Index, r.Name]),
    [
      [registry.host, `${registry.host}/team/api`],
      [registry.host, `${registry.host}/team/app`],
    ],
  );
});

// The registry answers tags in its own order (docker-registry: newest first), and so does --list-tags.
test('--list-tags lists the tags of one repository', async () => {
  const tags = await suite.devboxOk(['search', '--list-tags', '--format', '{{.Name}} {{.Tag}}', `${registry.host}/team/app`]);
  assert.equal(tags.stdout.trim().split('\n').sort(), [`${registry.host}/team/app 1`, `${registry.host}/team/app 2`]);
});

test("a registry's mirror is searched in its stead, and names are shown under the registry asked for", async () => {
  const config = await suite.tempDir('mirror-config');
  mkdirSync(join(config, 'devbox'));
  writeFileSync(join(config, 'devbox', 'config.json'), JSON.stringify({ registryMirrors: { 'docker.io': [registry.host] } }));
  const env = { XDG_CONFIG_HOME: config };
  const found = await suite.devboxOk(['search', '--format', '{{.Name}}', 'app'], { env });
  assert.equal(found.stdout.trim().split('\n'), ['docker.io/team/app']);
  const tags = await suite.devboxOk(['search', '--list-tags', '--format', '{{.Name}}:{{.Tag}}', 'team/app'], { env });
  assert.equal(tags.stdout.trim().split('\n').sort(), ['docker.io/team/app:1', 'docker.io/team/app:2']);
});

test('bad input: an unreachable registry, a bad filter, a bad template, --list-tags of a registry alone, one line each', async () => {
  const cases: [string[], RegExp][] = [
    [['search', '127.0.0.1:1/app'], /^devbox: cannot search 127\.0\.0\.1:1 \(127\.0\.0\.1:1: .*connection refused/],
    [['search', '--filter', 'colour=red', `${registry.host}/app`], /^devbox: invalid filter "colour=red"/],
    [['search', '--format', '{{.Name', `${registry.host}/app`], /^devbox: .*template/],
    [['search', '--list-tags', `${registry.host}/`], /^devbox: --list-tags needs a repository/],
  ];
  for (const [args, message] of cases) {
    const result = await suite.devbox(args);
    assert.ok(result.exitCode !== 0, `${args.join(' ')} failed`);
    assert.is(result.stderr.trim().split('\n').length, 1, result.stderr);
    assert.match(result.stderr, message);
  }
});

test.run();
