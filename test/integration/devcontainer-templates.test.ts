/**
 * Official Dev Containers templates, opened as a user would: their devcontainer.json files copied unchanged
 * from github.com/devcontainers/templates (test/fixtures/devcontainer-templates, MIT licence), options filled
 * with their defaults as `devcontainer templates apply` does. Their images are small stand-ins built here
 * under the mcr.microsoft.com names, with the devcontainer.metadata labels the real ones carry, pushed to a
 * real registry on 127.0.0.1 and pulled through devbox's registryMirrors setting; their Features are OCI
 * artifacts published there with the real devcontainer-feature.json and a stand-in install.sh that works offline.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { devcontainerArchive, eventually } from '../helpers/devcontainer.js';
import { publishFeature, writeFeature } from '../helpers/features.js';
import { testDir, type TarEntry } from '../helpers/images.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const FIXTURES = fileURLToPath(new URL('../../../test/fixtures', import.meta.url));
const TEMPLATES = join(FIXTURES, 'devcontainer-templates');
const uid = process.getuid!();
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
let registry: TestRegistry;
let env: NodeJS.ProcessEnv;
const projects: string[] = [];

/** The metadata of the official images (devcontainers/images src/*\/.devcontainer/devcontainer.json, as built). */
const common = { id: 'ghcr.io/devcontainers/features/common-utils:2' };
const git = { id: 'ghcr.io/devcontainers/features/git:1' };
const node = { id: 'ghcr.io/devcontainers/features/node:1', customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } } };
const shim: TarEntry[] = [
  // Feature scripts start with `#!/usr/bin/env bash`: busybox's sh stands in for bash.
  ...['usr', 'usr/bin', 'usr/local', 'usr/local/bin', 'usr/local/share'].map((name): TarEntry => ({ name, type: 'directory' })),
  { name: 'usr/bin/env', type: 'symlink', linkname: '/bin/busybox' },
  { name: 'bin/bash', content: '#!/bin/sh\nexec /bin/sh "$@"\n', mode: 0o755 },
];
// The Node.js images' account is `node`, uid 1000.
const nodeAccount: TarEntry[] = [
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' },
  { name: 'etc/group', content: 'root:x:0:\nnode:x:1000:\n' },
  { name: 'home/node', type: 'directory', uid: 1000, gid: 1000 },
];
const IMAGES: Record<string, { metadata: unknown[]; env?: string[]; files?: TarEntry[] }> = {
  'devcontainers/base:trixie': { metadata: [common, git, { remoteUser: 'vscode' }] },
  'devcontainers/base:bullseye': { metadata: [common, git, { remoteUser: 'vscode' }] },
  'devcontainers/python:3-3.14-trixie': {
    metadata: [common, { id: 'ghcr.io/devcontainers/features/python:1' }, node, git, { remoteUser: 'vscode' }],
    env: ['PYTHON_VERSION=3.14.0'],
  },
  'devcontainers/typescript-node:4-24-trixie': {
    metadata: [common, node, git, { customizations: { vscode: { extensions: ['dbaeumer.vscode-eslint'] } }, remoteUser: 'node' }],
    files: nodeAccount,
  },
  'devcontainers/javascript-node:4-24-trixie': { metadata: [common, node, git, { remoteUser: 'node' }], files: nodeAccount },
  'devcontainers/go:2-1.26-trixie': {
    metadata: [
      common,
      { id: 'ghcr.io/devcontainers/features/go:1', capAdd: ['SYS_PTRACE'], securityOpt: ['seccomp=unconfined'] },
      node,
      git,
      { customizations: { vscode: { extensions: ['golang.Go'] } }, remoteUser: 'vscode' },
    ],
    env: ['GOPATH=/go', 'GOROOT=/usr/local/go'],
  },
  'devcontainers/java:3-25-trixie': {
    metadata: [
      { id: 'ghcr.io/devcontainers/features/java:1' },
      node,
      git,
      { containerEnv: { JAVA_HOME: '/usr/lib/jvm/msopenjdk-current' }, remoteUser: 'vscode' },
    ],
  },
};

/**
 * The Compose templates' database, docker.io's postgres:latest: a stand-in answering "pg-ok" on 5432, that
 * counts its starts in its data folder (a named volume), with a pg_isready for the templates' healthcheck.
 */
const POSTGRES = {
  config: {
    Env: [`PATH=${PATH}`],
    Cmd: ['sh', '-c', 'echo started >> /var/lib/postgresql/starts; exec nc -ll -p 5432 -e echo pg-ok'],
  },
  files: [
    ...['var', 'var/lib', 'var/lib/postgresql', 'usr', 'usr/bin'].map((name): TarEntry => ({ name, type: 'directory' })),
    { name: 'usr/bin/pg_isready', content: '#!/bin/sh\n[ "$(nc -w 1 127.0.0.1 5432 </dev/null)" = pg-ok ]\n', mode: 0o755 },
  ],
};

/** Stand-in install scripts: what the real ones would leave, for the tests to find; the options they got. */
const INSTALL: Record<string, string> = {
  java: `mkdir -p "$SDKMAN_DIR/candidates/java/current/bin"
printf '#!/bin/sh\\necho "openjdk (stand-in)"\\n' > "$SDKMAN_DIR/candidates/java/current/bin/java"
chmod +x "$SDKMAN_DIR/candidates/java/current/bin/java"
echo "version=$VERSION maven=$INSTALLMAVEN gradle=$INSTALLGRADLE user=$_REMOTE_USER" > /usr/local/share/java-feature`,
  'docker-outside-of-docker': `printf '#!/bin/sh\\necho "docker-init as $(id -u)" >> /tmp/docker-init.log\\nexec "$@"\\n' > /usr/local/share/docker-init.sh
chmod +x /usr/local/share/docker-init.sh
echo "version=$VERSION moby=$MOBY nonroot=$ENABLENONROOTDOCKER" > /usr/local/share/docker-feature`,
  'kubectl-helm-minikube': `printf '#!/bin/sh\\necho "kubectl (stand-in)"\\n' > /usr/local/bin/kubectl
chmod +x /usr/local/bin/kubectl
echo "kubectl=$VERSION helm=$HELM minikube=$MINIKUBE" > /usr/local/share/kube-feature`,
};

/** A template's .devcontainer folder in a new project, its options replaced by their defaults. */
function applyTemplate(name: string, root: string): string {
  const options = JSON.parse(readFileSync(join(TEMPLATES, name, 'devcontainer-template.json'), 'utf8')).options ?? {};
  const copy = (from: string, to: string) => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from)) {
      const [source, target] = [join(from, entry), join(to, entry)];
      if (statSync(source).isDirectory()) copy(source, target);
      else {
        const text = readFileSync(source, 'utf8').replace(/\$\{templateOption:([^}]+)\}/g, (_, option: string) => String(options[option]?.default ?? ''));
        writeFileSync(target, text, { mode: statSync(source).mode });
      }
    }
  };
  copy(join(TEMPLATES, name, '.devcontainer'), join(root, '.devcontainer'));
  projects.push(root);
  return root;
}

async function open(name: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const root = applyTemplate(name, await testDir(name));
  const r = await devboxOk(['run', 'sh', '-c', 'id -un; id -u; echo "$HOME"; touch "$HOME/writable" && echo home-writable'], {
    cwd: root,
    env: { ...env, ...extraEnv },
  });
  return { root, lines: r.stdout.trim().split('\n'), stderr: r.stderr };
}

/** devbox's own messages that would alarm a user: warnings and errors (notes and build progress are not). */
const alarming = (stderr: string) => stderr.split('\n').filter((line) => /^devbox: (warning|error)|^devbox: (?!note)/.test(line));

test.before(async () => {
  registry = await startRegistry(await testDir('registry'));
  const config = await testDir('config');
  mkdirSync(join(config, 'devbox'));
  writeFileSync(
    join(config, 'devbox', 'config.json'),
    JSON.stringify({ registryMirrors: { 'mcr.microsoft.com': [registry.host], 'ghcr.io': [registry.host], 'docker.io': [registry.host] } }),
  );
  env = { XDG_CONFIG_HOME: config };
  for (const [path, image] of Object.entries(IMAGES)) {
    const name = `mcr.microsoft.com/${path}`;
    const archive = await devcontainerArchive(name, {
      metadata: image.metadata,
      config: { Env: [`PATH=${PATH}`, ...(image.env ?? [])] },
      files: [...shim, ...(image.files ?? [])],
    });
    await devboxOk(['image', 'load', '-i', archive], { env });
    await devboxOk(['push', '--quiet', name, `${registry.host}/${path}`], { env });
    await devboxOk(['rmi', name], { env }); // the projects pull it, through the mirror
  }
  await devboxOk(['image', 'load', '-i', await devcontainerArchive('postgres:latest', POSTGRES)], { env });
  await devboxOk(['push', '--quiet', 'postgres:latest', `${registry.host}/library/postgres:latest`], { env });
  await devboxOk(['rmi', 'postgres:latest'], { env });
  for (const [id, install] of Object.entries(INSTALL)) {
    const dir = join(await testDir('feature'), id);
    const metadata = JSON.parse(readFileSync(join(FIXTURES, 'devcontainer-features', id, 'devcontainer-feature.json'), 'utf8'));
    writeFeature(dir, { metadata, install: `#!/bin/sh\nset -e\n${install}\n` });
    await publishFeature(dir, `${registry.host}/devcontainers/features/${id}:${metadata.version.split('.')[0]}`);
  }
});

test.after(async () => {
  for (const root of projects) await devbox(['rm', '-f'], { cwd: root, env });
  await registry?.stop();
});

test('debian, python, typescript-node, go: the image pulled through the mirror, its remoteUser in your place, nothing alarming said', async () => {
  for (const [name, user, extra] of [
    ['debian', 'vscode', ''],
    ['python', 'vscode', 'PYTHON_VERSION=3.14.0'],
    ['typescript-node', 'node', ''],
    ['go', 'vscode', 'GOPATH=/go'],
  ] as const) {
    const { root, lines, stderr } = await open(name);
    assert.equal(lines, [user, String(uid), `/home/${user}`, 'home-writable'], name);
    assert.equal(alarming(stderr), [], `${name}: ${stderr}`);
    if (extra) assert.match((await devboxOk(['run', 'env'], { cwd: root, env })).stdout, extra);
  }
  // An interactive shell says nothing alarming either.
  const shell = await devboxOk(['shell'], { cwd: projects[0], env, input: 'exit\n' });
  assert.equal(alarming(shell.stderr), []);
});

test('java: the java Feature from the registry, its options as the template gives them, JAVA_HOME of the image winning', async () => {
  const { root, lines, stderr } = await open('java');
  assert.equal(lines, ['vscode', String(uid), '/home/vscode', 'home-writable']);
  assert.equal(alarming(stderr), []);
  const r = await devboxOk(['run', 'sh', '-c', 'java; cat /usr/local/share/java-feature; echo "$JAVA_HOME"'], { cwd: root, env });
  assert.equal(r.stdout.trim().split('\n'), ['openjdk (stand-in)', 'version=none maven=false gradle=false user=vscode', '/usr/lib/jvm/msopenjdk-current']);
  assert.ok(JSON.parse(readFileSync(join(root, 'devbox.lock'), 'utf8')).features['ghcr.io/devcontainers/features/java:1']);
});

test('docker-outside-of-docker: the Feature, its entrypoint at start, remoteEnv with localWorkspaceFolder; the socket it mounts named once when missing', async () => {
  const { root, stderr } = await open('docker-outside-of-docker');
  const socket = '/var/run/docker.sock';
  assert.equal(
    alarming(stderr),
    existsSync(socket)
      ? []
      : [`devbox: warning: feature ghcr.io/devcontainers/features/docker-outside-of-docker:1 mounts ${socket}, which this machine does not have: left out`],
  );
  const r = await devboxOk(['run', 'sh', '-c', 'cat /usr/local/share/docker-feature; echo "$LOCAL_WORKSPACE_FOLDER"'], { cwd: root, env });
  assert.equal(r.stdout.trim().split('\n'), ['version=latest moby=true nonroot=true', root]);
  const log = await eventually(async () => {
    const read = await devbox(['run', 'cat', '/tmp/docker-init.log'], { cwd: root, env });
    return read.exitCode === 0 ? read.stdout : undefined;
  }, 'the entrypoint');
  assert.is(log, 'docker-init as 0\n');
  await devboxOk(['stop'], { cwd: root, env });
  assert.equal(alarming((await devboxOk(['run', 'true'], { cwd: root, env })).stderr), [], 'said once');
});

test('kubernetes-helm: initializeCommand on the host, its mounts, two registry Features and a local one', async () => {
  const home = await testDir('home');
  const { root, lines, stderr } = await open('kubernetes-helm', { HOME: home });
  assert.equal(lines, ['vscode', String(uid), '/home/vscode', 'home-writable']);
  assert.ok(existsSync(join(home, '.kube')) && existsSync(join(home, '.minikube')), 'ensure-mount-sources ran on the host');
  writeFileSync(join(home, '.kube', 'config'), 'server: https://127.0.0.1:6443\n');
  const r = await devboxOk(
    [
      'run',
      'sh',
      '-c',
      'kubectl; cat /usr/local/share/kube-feature /usr/local/share/kube-localhost/config; grep copy-kube-config ~/.bashrc; echo "$SYNC_LOCALHOST_KUBECONFIG"',
    ],
    { cwd: root, env: { ...env, HOME: home } },
  );
  assert.equal(r.stdout.trim().split('\n'), [
    'kubectl (stand-in)',
    'kubectl=latest helm=latest minikube=none',
    'server: https://127.0.0.1:6443',
    'source /usr/local/share/copy-kube-config.sh',
    'true',
  ]);
  const expected = existsSync('/var/run/docker.sock') ? 0 : 1;
  assert.is(alarming(stderr).length, expected, stderr);
});

test('postgres (network_mode: service:db) and javascript-node-postgres (a bridge network, db healthy first): the app reaches the database, across stop and start', async () => {
  for (const [name, user, host] of [
    ['postgres', 'vscode', 'localhost'],
    ['javascript-node-postgres', 'node', 'db'],
  ] as const) {
    const { root, lines, stderr } = await open(name);
    assert.equal(lines, [user, String(uid), `/home/${user}`, 'home-writable'], name);
    assert.equal(alarming(stderr), [], `${name}: ${stderr}`);
    // The database's listener starts beside the sandbox: asked until it answers.
    const ask = `[ -f /workspaces/${basename(root)}/.devcontainer/docker-compose.yml ] && echo workspace; i=0; while [ $i -lt 50 ]; do r=$(nc -w 2 ${host} 5432 </dev/null 2>/dev/null); [ "$r" = pg-ok ] && echo "$r" && exit 0; i=$((i+1)); sleep 0.2; done; exit 1`;
    assert.equal((await devboxOk(['run', 'sh', '-c', ask], { cwd: root, env })).stdout.split('\n'), ['workspace', 'pg-ok', ''], name);
    await devboxOk(['stop'], { cwd: root, env });
    assert.equal((await devboxOk(['run', 'sh', '-c', ask], { cwd: root, env })).stdout.split('\n'), ['workspace', 'pg-ok', ''], `${name} after stop`);
    const db = `${basename(root).toLowerCase()}_devcontainer-db-1`;
    assert.is(
      (await devboxOk(['exec', db, 'cat', '/var/lib/postgresql/starts'], { env })).stdout,
      'started\nstarted\n',
      `${name}: one database, started twice`,
    );
    await devboxOk(['rm', '-f'], { cwd: root, env });
    assert.is((await devbox(['inspect', db], { env })).exitCode, 1, `${name}: devbox rm removes the database`);
  }
});

test.run();
