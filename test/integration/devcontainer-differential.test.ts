/**
 * Differential: a devcontainer.json with a local Feature, made into an environment by devbox, and by rootless
 * podman building the Dockerfile devcontainers/cli generates for podman (its path without BuildKit: a content
 * image FROM scratch holding the Features' folders, then the target stage that copies each one into
 * /tmp/dev-container-features and runs it). The two root file systems must hold the same files (path, type,
 * mode, owner, size, link, content), except each tool's own install wrapper script.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { flattenArchive, treeDifferences } from '../helpers/build.js';
import { devcontainerArchive, sandboxFolder } from '../helpers/devcontainer.js';
import { writeFeature } from '../helpers/features.js';
import { createImageSuite, type ImageSuite } from '../helpers/image-suite.js';

const BASE = 'localhost/dc-diff-base:1';
let suite: ImageSuite | undefined;
let root: string | undefined;

const FEATURE = {
  metadata: {
    id: 'hello',
    version: '1.0.0',
    name: 'Hello',
    options: { greeting: { type: 'string', default: 'hello' }, loud: { type: 'boolean', default: false } },
    containerEnv: { HELLO_HOME: '/opt/hello', PATH: '/opt/hello/bin:${PATH}' },
  },
  // Files of every kind, owned by root and by the remote user, with the options and users it was given.
  install: `#!/bin/sh
set -e
mkdir -p /opt/hello/bin /opt/hello/share
printf '#!/bin/sh\\necho "%s (loud=%s)"\\n' "$GREETING" "$LOUD" > /opt/hello/bin/hello
chmod 755 /opt/hello/bin/hello
ln -s ../bin/hello /opt/hello/share/hello-link
echo "remote=$_REMOTE_USER home=$_REMOTE_USER_HOME container=$_CONTAINER_USER home=$_CONTAINER_USER_HOME" > /opt/hello/users
echo "$HELLO_HOME $PATH" > /opt/hello/env
mkdir -p "$_REMOTE_USER_HOME/.hello"
echo "for $_REMOTE_USER" > "$_REMOTE_USER_HOME/.hello/config"
chown -R "$_REMOTE_USER:$_REMOTE_USER" "$_REMOTE_USER_HOME/.hello"
chmod 600 "$_REMOTE_USER_HOME/.hello/config"
`,
};
const OPTIONS = { greeting: 'hi there', loud: 'true' };

/** The env file of a Feature's options, as the reference implementation writes it. */
const optionsFile = 'GREETING="hi there"\nLOUD="true"';

/** What devcontainers/cli writes for podman (containerFeaturesConfiguration.ts, without BuildKit), for this one Feature. */
function cliDockerfile(): string {
  const home = (user: string) =>
    ` (command -v getent >/dev/null 2>&1 && getent passwd '${user}' || grep -E '^${user}|^[^:]*:[^:]*:${user}:' /etc/passwd || true)`;
  return `ARG _DEV_CONTAINERS_BASE_IMAGE=placeholder

FROM dev_container_feature_content_temp as dev_containers_feature_content_source

FROM $_DEV_CONTAINERS_BASE_IMAGE AS dev_containers_feature_content_normalize
USER root
COPY --from=dev_containers_feature_content_source /tmp/build-features/devcontainer-features.builtin.env /tmp/build-features/
RUN chmod -R 0755 /tmp/build-features/

FROM $_DEV_CONTAINERS_BASE_IMAGE AS dev_containers_target_stage

USER root

RUN mkdir -p /tmp/dev-container-features
COPY --from=dev_containers_feature_content_normalize /tmp/build-features/ /tmp/dev-container-features

RUN \\
echo "_CONTAINER_USER_HOME=$(${home('root')} | cut -d: -f6)" >> /tmp/dev-container-features/devcontainer-features.builtin.env && \\
echo "_REMOTE_USER_HOME=$(${home('vscode')} | cut -d: -f6)" >> /tmp/dev-container-features/devcontainer-features.builtin.env

ENV HELLO_HOME="/opt/hello"
ENV PATH="/opt/hello/bin:\${PATH}"
COPY --chown=root:root --from=dev_containers_feature_content_source /tmp/build-features/hello_0 /tmp/dev-container-features/hello_0
RUN chmod -R 0755 /tmp/dev-container-features/hello_0 \\
&& cd /tmp/dev-container-features/hello_0 \\
&& chmod +x ./devcontainer-features-install.sh \\
&& ./devcontainer-features-install.sh

ARG _DEV_CONTAINERS_IMAGE_USER=root
USER $_DEV_CONTAINERS_IMAGE_USER
`;
}

test.after(async () => {
  if (root) await suite?.devbox(['stop'], { cwd: root });
  await suite?.cleanup();
});

test('a local Feature: the files devbox installs are those of podman building the Dockerfile devcontainers/cli generates', async () => {
  suite = await createImageSuite('devcontainer-diff');
  const archive = await devcontainerArchive(BASE, {
    metadata: [{ remoteUser: 'vscode' }],
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    files: [{ name: 'opt', type: 'directory' }],
  });
  await suite.devboxOk(['image', 'load', '-i', archive]);
  suite.podman(['load', '-i', archive]);

  // devbox: the project as a user has it.
  root = await suite.tempDir('project');
  writeFeature(join(root, '.devcontainer/hello'), FEATURE);
  writeFileSync(join(root, '.devcontainer/devcontainer.json'), JSON.stringify({ image: BASE, features: { './hello': OPTIONS } }));
  await suite.devboxOk(['run', 'true'], { cwd: root });
  const image = JSON.parse(readFileSync(join(sandboxFolder(suite.storeRoot, root), 'state.json'), 'utf8')).image as string;

  // podman: the content image and the Dockerfile the reference implementation would write.
  const content = await suite.tempDir('content');
  writeFileSync(join(content, 'devcontainer-features.builtin.env'), '_CONTAINER_USER=root\n_REMOTE_USER=vscode\n');
  writeFeature(join(content, 'hello_0'), FEATURE);
  writeFileSync(join(content, 'hello_0', 'devcontainer-features.env'), optionsFile);
  writeFileSync(
    join(content, 'hello_0', 'devcontainer-features-install.sh'),
    '#!/bin/sh\nset -e\nset -a\n. ../devcontainer-features.builtin.env\n. ./devcontainer-features.env\nset +a\nchmod +x ./install.sh\n./install.sh\n',
  );
  chmodSync(join(content, 'hello_0', 'devcontainer-features-install.sh'), 0o755);
  writeFileSync(join(content, 'Dockerfile.buildContent'), 'FROM scratch\nCOPY . /tmp/build-features/\n');
  suite.podman(['build', '-q', '-t', 'dev_container_feature_content_temp', '-f', join(content, 'Dockerfile.buildContent'), content]);
  const empty = await suite.tempDir('empty');
  const dockerfile = join(await suite.tempDir('dockerfile'), 'Dockerfile.extended');
  writeFileSync(dockerfile, cliDockerfile());
  suite.podman([
    'build',
    '-q',
    '--pull=never',
    '--format',
    'docker',
    '--target',
    'dev_containers_target_stage',
    '--build-arg',
    `_DEV_CONTAINERS_BASE_IMAGE=${BASE}`,
    '--build-arg',
    '_DEV_CONTAINERS_IMAGE_USER=root',
    '-t',
    'localhost/dc-diff-podman:1',
    '-f',
    dockerfile,
    empty,
  ]);

  const out = await suite.tempDir('out');
  mkdirSync(out, { recursive: true });
  await suite.devboxOk(['image', 'save', '-o', join(out, 'devbox.tar'), image]);
  suite.podman(['save', '--format', 'docker-archive', '-o', join(out, 'podman.tar'), 'localhost/dc-diff-podman:1']);
  const ours = await flattenArchive(readFileSync(join(out, 'devbox.tar')));
  const theirs = await flattenArchive(readFileSync(join(out, 'podman.tar')));
  // Each tool's own wrapper around install.sh (its messages), and buildah's mount-point stubs (docs/building.md).
  const own = (path: string) =>
    path === 'tmp/dev-container-features/hello_0/devcontainer-features-install.sh' || ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'run'].includes(path);
  for (const tree of [ours.tree, theirs.tree]) for (const path of [...tree.keys()]) if (own(path)) tree.delete(path);
  assert.equal(treeDifferences(ours.tree, theirs.tree), []);
  // And they did install something: the Feature's files, with the users it was told about.
  assert.ok(ours.tree.get('opt/hello/bin/hello')?.mode === 0o755);
  assert.is(ours.tree.get('home/vscode/.hello/config')?.uid, 1000);
  assert.equal(
    (ours.config.Env as string[]).filter((e) => e.startsWith('HELLO_HOME') || e.startsWith('PATH=')),
    ['PATH=/opt/hello/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HELLO_HOME=/opt/hello'],
  );
});

test.run();
