/**
 * Projects made from one template share its build: the second project's first entry runs no step, every
 * one comes from the cache the first project filled. The real templates install from Debian's mirror, which
 * takes minutes (bench/templates.ts times them and checks the same for each); this template has their shape
 * with a local image and a local download server: a stage that fetches a file through an argument a mirror
 * can replace, pinned by its checksum, a RUN, an ENV and a COPY --from into the last stage.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { initProject } from '../../src/project/templates.js';
import { devbox, devboxOk } from '../helpers/cli.js';
import { importBusybox, testDir } from '../helpers/images.js';

const PACKAGE = Buffer.from('a package the template downloads\n');
const projects: string[] = [];
let server: http.Server | undefined;

const buildCacheEntries = () => {
  const dir = join(process.env.XDG_DATA_HOME!, 'devbox', 'build-cache');
  return existsSync(dir) ? readdirSync(dir).length : 0;
};

test.before(async () => {
  await importBusybox();
  server = http.createServer((req, res) => {
    if (req.url === '/tool/-/tool-1.0.0.tgz') res.writeHead(200).end(PACKAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  await new Promise((resolve) => server?.close(resolve));
});

test("a second project from a template runs no build step: each comes from the first project's cache", async () => {
  const templates = await testDir('templates');
  mkdirSync(join(templates, 'shaped'));
  const checksum = createHash('sha256').update(PACKAGE).digest('hex');
  writeFileSync(
    join(templates, 'shaped', 'Dockerfile'),
    `# A template shaped like the node one, on busybox.
ARG NPM_REGISTRY=https://registry.npmjs.org
FROM busybox:latest AS fetch
ARG NPM_REGISTRY
ADD --checksum=sha256:${checksum} \\
    \${NPM_REGISTRY}/tool/-/tool-1.0.0.tgz /tmp/tool.tgz
RUN mkdir -p /opt/tool && cp /tmp/tool.tgz /opt/tool/ && chmod 644 /opt/tool/tool.tgz \\
 && od -An -N8 -tx1 /dev/urandom > /opt/tool/fetched

FROM busybox:latest
RUN od -An -N8 -tx1 /dev/urandom > /built
ENV LANG=C.UTF-8
COPY --from=fetch /opt/tool/ /usr/local/tool/
`,
  );
  const registry = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
  writeFileSync(join(templates, 'shaped', 'devbox.json'), JSON.stringify({ build: { args: { NPM_REGISTRY: registry } } }));
  const [first, second] = [await testDir('first'), await testDir('second')];
  projects.push(first, second);
  for (const root of [first, second]) await initProject(root, { template: 'shaped', templatesDir: templates });

  const show = ['run', 'cat', '/built', '/usr/local/tool/fetched', '/usr/local/tool/tool.tgz'];
  const built = await devboxOk(show, { cwd: first });
  // Two random numbers the RUN steps drew, then the downloaded file.
  assert.match(built.stdout, new RegExp(`^( [0-9a-f]{2}){8}\\n( [0-9a-f]{2}){8}\\n${PACKAGE}$`));
  assert.match(built.stderr, /--> done in/); // the first project did build
  const entries = buildCacheEntries();

  const again = await devboxOk(show, { cwd: second });
  assert.is(again.stdout, built.stdout); // the RUN steps' outputs are the first project's, not new ones
  assert.not.match(again.stderr, /--> done in/);
  assert.is(buildCacheEntries(), entries);
});

test.run();
