import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { loadProject } from '../../src/project/load.js';
import { entryEnvironment } from '../../src/project/entry-process.js';
import { projectKey } from '../../src/sandbox/live-state.js';
import { DOCKERFILE, errorLine, projectDir } from '../helpers/project.js';

const HOME = '/home/alice';
const HOST_ENV = { HOME, USER: 'alice' };

test('image-based config shaped like the Node.js & TypeScript template: comments, commented-out keys', () => {
  const root = projectDir({
    '.devcontainer/devcontainer.json': `// Format: https://aka.ms/devcontainer.json
{
	"name": "Node.js & TypeScript",
	// Or build a Dockerfile instead.
	"image": "mcr.microsoft.com/devcontainers/typescript-node:1-22-bookworm",

	// "features": {},
	// "forwardPorts": [],
	"postCreateCommand": "npm install",

	/* Uncomment to connect as root instead. */
	// "remoteUser": "root"
}
`,
    'src/index.ts': '',
  });
  const config = loadProject(join(root, 'src'), { env: HOST_ENV, home: HOME });
  assert.equal(config, {
    source: { format: 'devcontainer.json', path: join(root, '.devcontainer/devcontainer.json') },
    root,
    name: 'Node.js & TypeScript',
    environment: { kind: 'image', image: 'mcr.microsoft.com/devcontainers/typescript-node:1-22-bookworm' },
    mounts: [],
    network: 'slirp4netns',
    ports: [],
    home: 'private',
    prompt: '(devbox:Node.js & TypeScript) ',
    workspaceFolder: root,
    metadata: { postCreateCommand: 'npm install' },
    imageMetadata: true,
    features: [],
    featureInstallOrder: [],
    warnings: [],
  });
});

test('Dockerfile-based config shaped like the Python template: paths relative to devcontainer.json, ignored properties warned in one line', () => {
  const root = projectDir({
    '.devcontainer/devcontainer.json': `{
  "name": "Python 3",
  "build": {
    // Context ".." is the repo root, so the Dockerfile can COPY requirements.txt.
    "dockerfile": "Dockerfile",
    "context": "..",
    "args": { "VARIANT": "3.12-bookworm" },
    "cacheFrom": "ghcr.io/example/python-cache",
  },
  "features": { "ghcr.io/devcontainers/features/node:1": { "version": "lts" } },
  "forwardPorts": [8000],
  "postCreateCommand": "pip3 install --user -r requirements.txt",
  "customizations": { "vscode": { "extensions": ["ms-python.python"] } },
  "remoteUser": "vscode",
}`,
    '.devcontainer/Dockerfile': DOCKERFILE,
    'requirements.txt': 'flask\n',
  });
  const config = loadProject(root, { env: HOST_ENV, home: HOME });
  assert.equal(config.environment, {
    kind: 'dockerfile',
    dockerfile: join(root, '.devcontainer/Dockerfile'),
    context: root,
    buildArgs: { VARIANT: '3.12-bookworm' },
  });
  assert.equal(config.ports, [{ hostPort: 8000, containerPort: 8000, protocol: 'tcp' }]);
  assert.equal(config.metadata, {
    postCreateCommand: 'pip3 install --user -r requirements.txt',
    customizations: { vscode: { extensions: ['ms-python.python'] } },
    remoteUser: 'vscode',
  });
  assert.equal(config.features, [{ id: 'ghcr.io/devcontainers/features/node:1', options: { version: 'lts' } }]);
  assert.equal(config.warnings, [
    `${join(root, '.devcontainer/devcontainer.json')}: devbox ignores build.cacheFrom (see "Dev Containers" in docs/project-config.md)`,
  ]);
});

test('Go-shaped config: legacy dockerFile, mounts, containerEnv/remoteEnv, workspaceFolder and every variable', () => {
  const root = projectDir({
    '.devcontainer.json': `{
  "name": "Go",
  "dockerFile": "Dockerfile.dev",
  "runArgs": ["--cap-add=SYS_PTRACE", "--security-opt", "seccomp=unconfined"],
  "mounts": [
    "source=go-modules-\${devcontainerId},target=/go/pkg/mod,type=volume",
    "source=\${localEnv:HOME}/.ssh,target=/home/vscode/.ssh,type=bind,consistency=cached",
    { "type": "bind", "source": "\${localWorkspaceFolder}/.cache", "target": "\${containerWorkspaceFolder}/.cache" }
  ],
  "containerEnv": { "GOFLAGS": "-mod=mod" },
  "remoteEnv": {
    "PATH": "\${containerEnv:PATH}:/home/vscode/go/bin",
    "GOFLAGS": "\${containerEnv:GOFLAGS} -v",
    "LOCAL_USER": "\${localEnv:USER}",
    "EDITOR": "\${localEnv:EDITOR:vi}",
    "PROJECT": "\${containerWorkspaceFolderBasename}",
    "GOPROXY": null
  },
  "workspaceFolder": "/workspaces/\${localWorkspaceFolderBasename}",
  "onCreateCommand": "echo created",
  "postCreateCommand": ["go", "mod", "download"],
  "forwardPorts": [8080, "localhost:6060", "db:5432"]
}`,
    'Dockerfile.dev': DOCKERFILE,
  });
  const base = root.split('/').at(-1)!;
  const config = loadProject(root, { env: HOST_ENV, home: HOME });
  assert.equal(config.environment, { kind: 'dockerfile', dockerfile: join(root, 'Dockerfile.dev'), context: root, buildArgs: {} });
  assert.is(config.workspaceFolder, `/workspaces/${base}`);
  assert.equal(config.mounts, [
    { type: 'volume', source: `go-modules-${projectKey(root)}`, target: '/go/pkg/mod', readonly: false },
    { type: 'bind', source: `${HOME}/.ssh`, target: '/home/vscode/.ssh', readonly: false },
    { type: 'bind', source: `${root}/.cache`, target: `/workspaces/${base}/.cache`, readonly: false },
  ]);
  assert.equal(config.metadata.containerEnv, { GOFLAGS: '-mod=mod' });
  assert.equal(config.metadata.remoteEnv, {
    PATH: '${containerEnv:PATH}:/home/vscode/go/bin',
    GOFLAGS: '${containerEnv:GOFLAGS} -v',
    LOCAL_USER: 'alice',
    EDITOR: 'vi',
    PROJECT: base,
    GOPROXY: null,
  });
  assert.equal(config.metadata.onCreateCommand, 'echo created');
  assert.equal(config.metadata.postCreateCommand, ['go', 'mod', 'download']);
  // runArgs: SYS_PTRACE and seccomp=unconfined become capAdd and securityOpt, as the spec's own properties.
  assert.equal(config.metadata.capAdd, ['SYS_PTRACE']);
  assert.equal(config.metadata.securityOpt, ['seccomp=unconfined']);
  assert.equal(config.ports, [
    { hostPort: 8080, containerPort: 8080, protocol: 'tcp' },
    { hostPort: 6060, containerPort: 6060, protocol: 'tcp' },
  ]);
  assert.equal(config.warnings, [
    'forwardPorts "db:5432" is a port of another container (Docker Compose), which devbox does not forward: reach it by that name from the sandbox',
  ]);
  // ${containerEnv:PATH} is the image's, ${containerEnv:GOFLAGS} containerEnv's; GOPROXY set by the image is unset.
  const image = { PATH: '/usr/local/go/bin:/usr/bin', GOPROXY: 'direct', LANG: 'C.UTF-8' };
  assert.equal(entryEnvironment(image, { containerEnv: config.metadata.containerEnv!, remoteEnv: config.metadata.remoteEnv! }), {
    GOFLAGS: '-mod=mod -v',
    PATH: '/usr/local/go/bin:/usr/bin:/home/vscode/go/bin',
    LOCAL_USER: 'alice',
    EDITOR: 'vi',
    PROJECT: base,
    GOPROXY: null,
  });
});

test('refused: a Compose config without its service, no image or Dockerfile, wrong types, a missing Dockerfile', async () => {
  const cases: [string, string][] = [
    ['{\n  "dockerComposeFile": "docker-compose.yml"\n}', '2:24: "dockerComposeFile" needs "service": the service devbox shell enters (add "service": "NAME")'],
    ['{ "name": "x" }', '1:1: needs "image" or "build.dockerfile" (name the image to use, or the Dockerfile to build (relative to devcontainer.json))'],
    ['{ "image": "x", "forwardPorts": ["3000"] }', '1:34: "forwardPorts[0]" must be a port number or "HOST:PORT", not "3000"'],
    ['{ "image": "x", "containerEnv": { "A": 1 } }', '1:40: "containerEnv.A" must be a string, not 1'],
    [
      '{ "build": { "dockerfile": "Missing" } }',
      '1:28: "build.dockerfile" names ROOT/.devcontainer/Missing, which does not exist (paths in devcontainer.json are relative to its folder)',
    ],
    [
      '{ "image": "x", "postCreateCommand": 3 }',
      '1:38: "postCreateCommand" must be a non-empty string, a non-empty array of strings or an object, not 3 (e.g. "postCreateCommand": "npm ci")',
    ],
  ];
  for (const [text, expected] of cases) {
    const root = projectDir({ '.devcontainer/devcontainer.json': text });
    const line = await errorLine(() => loadProject(root, { env: {}, home: HOME }));
    assert.is(line, `${join(root, '.devcontainer/devcontainer.json')}:${expected.replace('ROOT', root)}`);
  }
});

test.run();
