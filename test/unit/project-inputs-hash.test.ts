import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { projectInputsHash } from '../../src/project/inputs-hash.js';
import { loadProject } from '../../src/project/load.js';
import { substituteString } from '../../src/project/variables.js';
import { DOCKERFILE, projectDir } from '../helpers/project.js';

const load = (root: string, env: NodeJS.ProcessEnv = {}) => loadProject(root, { env, home: '/home/alice' });
const hashOf = (root: string, env: NodeJS.ProcessEnv = {}) => projectInputsHash(load(root, env));

function project(): string {
  return projectDir({
    'devbox.json': '{ "build": { "args": { "TOOL": "${localEnv:TOOL_VERSION:1}" } } }',
    '.devbox/Dockerfile': DOCKERFILE,
    'src/main.c': 'int main(void) { return 0; }\n',
  });
}

test('the same inputs give the same hash, wherever the project is checked out', async () => {
  const root = project();
  const copy = projectDir();
  cpSync(root, copy, { recursive: true });
  const hash = await hashOf(root);
  assert.match(hash, /^sha256:[0-9a-f]{64}$/);
  assert.is(await hashOf(root), hash);
  assert.is(await hashOf(copy), hash);
});

test('the Dockerfile, devbox.json and resolved build arguments change it; source files do not', async () => {
  const root = project();
  const before = await hashOf(root);
  writeFileSync(join(root, 'src/main.c'), 'int main(void) { return 1; }\n');
  assert.is(await hashOf(root), before, 'a source file outside the build context');
  assert.is.not(await hashOf(root, { TOOL_VERSION: '2' }), before, 'a build argument from the host environment');
  writeFileSync(join(root, '.devbox/Dockerfile'), `${DOCKERFILE}RUN true\n`);
  const afterDockerfile = await hashOf(root);
  assert.is.not(afterDockerfile, before);
  writeFileSync(join(root, 'devbox.json'), '{ "build": { "args": { "TOOL": "${localEnv:TOOL_VERSION:1}" } }, "network": "host" }');
  assert.is.not(await hashOf(root), afterDockerfile);
});

test('with the whole repo as the build context, only what the Dockerfile COPYs or ADDs counts', async () => {
  const root = projectDir({
    'devbox.json': '{ "build": { "dockerfile": ".devbox/Dockerfile", "context": "." } }',
    '.devbox/Dockerfile': `${DOCKERFILE}COPY requirements.txt /tmp/\nCOPY conf/*.ini /etc/app/\n`,
    'requirements.txt': 'flask\n',
    'conf/app.ini': 'a=1\n',
    'src/main.py': 'print(1)\n',
  });
  const before = await hashOf(root);
  writeFileSync(join(root, 'src/main.py'), 'print(2)\n');
  writeFileSync(join(root, 'notes.txt'), 'a new file\n');
  assert.is(await hashOf(root), before, 'files no COPY or ADD reads');
  writeFileSync(join(root, 'conf/new.ini'), 'b=2\n');
  const withIni = await hashOf(root);
  assert.is.not(withIni, before, 'a new file a wildcard source matches');
  writeFileSync(join(root, 'requirements.txt'), 'flask\nrequests\n');
  assert.is.not(await hashOf(root), withIni, 'a file a COPY names');
});

test('a source known only while building (a variable) makes all of the context count', async () => {
  const root = projectDir({
    'devbox.json': '{ "build": { "dockerfile": ".devbox/Dockerfile", "context": "." } }',
    '.devbox/Dockerfile': `${DOCKERFILE}ARG DIR=src\nCOPY \${DIR} /app\n`,
    'src/main.py': 'print(1)\n',
  });
  const before = await hashOf(root);
  writeFileSync(join(root, 'notes.txt'), 'a new file\n');
  assert.is.not(await hashOf(root), before);
});

test('devbox.lock counts: the same lock gives the same hash, another pin another one', async () => {
  const root = project();
  const unlocked = await hashOf(root);
  const lock = (digest: string) => `{"lockfileVersion":1,"images":{"docker.io/library/debian:bookworm-slim":{"digest":"sha256:${digest.repeat(64)}"}}}\n`;
  writeFileSync(join(root, 'devbox.lock'), lock('a'));
  const locked = await hashOf(root);
  assert.is.not(locked, unlocked);
  const copy = projectDir();
  cpSync(root, copy, { recursive: true });
  assert.is(await hashOf(copy), locked);
  writeFileSync(join(root, 'devbox.lock'), lock('b'));
  assert.is.not(await hashOf(root), locked);
});

test('the build context hook is given the context and the Dockerfile, and its digest counts', async () => {
  const root = project();
  const calls: string[][] = [];
  const withContext = (digest: string) =>
    projectInputsHash(load(root), async (context, dockerfile) => {
      calls.push([context, dockerfile]);
      return digest;
    });
  const a = await withContext('sha256:aaaa');
  assert.equal(calls, [[join(root, '.devbox'), join(root, '.devbox/Dockerfile')]]);
  assert.is(await withContext('sha256:aaaa'), a);
  assert.is.not(await withContext('sha256:bbbb'), a);
  assert.is.not(await hashOf(root), a);
});

test('variables: defaults, unknown names and ${containerEnv} left in place', () => {
  const context = { localWorkspaceFolder: '/src/shop', containerWorkspaceFolder: '/workspaces/shop', localEnv: { USER: 'alice' } };
  assert.is(substituteString('${localEnv:USER}@${localWorkspaceFolderBasename}', context), 'alice@shop');
  assert.is(substituteString('${env:USER} ${localEnv:MISSING} ${localEnv:MISSING:dflt}', context), 'alice  dflt');
  assert.is(substituteString('${containerWorkspaceFolder} ${containerWorkspaceFolderBasename}', context), '/workspaces/shop shop');
  assert.is(substituteString('${containerEnv:PATH} ${unknownThing} $HOME', context), '${containerEnv:PATH} ${unknownThing} $HOME');
  assert.match(substituteString('${devcontainerId}', context), /^[0-9a-f]{16}$/);
});

test.run();
