/**
 * Differential: the same Dockerfiles built by devbox and by rootless podman (runc, vfs) from the same base,
 * compared on the image config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels,
 * StopSignal, Healthcheck) and on the root file system (path, type, mode, uid, gid, size, link target,
 * content hash). Every difference fails, except those docs/building.md lists as intended (INTENDED below).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { flattenArchive, treeDifferences, writeContext, type ContextFile, type TreeEntry } from '../helpers/build.js';
import { createImageSuite, once, type ImageSuite } from '../helpers/image-suite.js';
import { busyboxRootfs, packTar, writeTar } from '../helpers/images.js';

let suite: ImageSuite;
const BASE = 'localhost/diff-base';

const fixtures = once(async () => {
  suite = await createImageSuite('build-diff');
  const tar = join(await suite.tempDir('rootfs'), 'rootfs.tar');
  await writeTar(tar, [...busyboxRootfs(), { name: 'etc/shadow', content: 'root:*:1::::::\n', mode: 0o640 }, { name: 'var', type: 'directory' }]);
  await suite.devboxOk(['image', 'import', tar, BASE]);
  const archive = join(await suite.tempDir('base'), 'base.tar');
  await suite.devboxOk(['image', 'save', '-o', archive, BASE]);
  suite.podman(['load', '-i', archive]);
});

test.before.each(fixtures);

test.after(async () => {
  await suite?.cleanup();
});

const CONFIG_FIELDS = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Volumes', 'Labels', 'StopSignal', 'Healthcheck'] as const;

/**
 * Differences docs/building.md describes as intended ("Differences from podman build"):
 * - buildah labels every image with io.buildah.version;
 * - an empty field is absent in devbox's config, podman may write it as null, "" or {}.
 */
function normalizeConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    let value = config[field];
    if (field === 'Labels' && value && typeof value === 'object') {
      const labels = { ...(value as Record<string, string>) };
      delete labels['io.buildah.version'];
      value = labels;
    }
    const empty = value === undefined || value === null || value === '' || (typeof value === 'object' && Object.keys(value as object).length === 0);
    if (!empty) out[field] = value;
  }
  return out;
}

interface Case {
  name: string;
  dockerfile: string;
  files?: Record<string, ContextFile>;
  /**
   * Config fields where devbox does what Docker does and podman 4.3 does not (docs/building.md): checked
   * on devbox's image against these values, left out of the comparison.
   */
  dockerConfig?: Record<string, unknown>;
  /** Put tree.tar and tree.tar.gz (owned by several users, with a link and a FIFO) in the context. */
  archives?: boolean;
}

/**
 * Mount points buildah 1.28 leaves in an image when its base lacks them (empty files, an empty /run);
 * devbox, like BuildKit, leaves out what the sandbox only created to mount on (docs/building.md).
 */
const BUILDAH_MOUNT_STUBS = new Set(['etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'run']);

function withoutBuildahStubs(tree: Map<string, TreeEntry>): Map<string, TreeEntry> {
  const out = new Map(tree);
  for (const path of BUILDAH_MOUNT_STUBS) {
    const entry = out.get(path);
    const empty = entry && entry.size === 0 && ![...out.keys()].some((k) => k.startsWith(`${path}/`));
    if (empty) out.delete(path);
  }
  return out;
}

const CASES: Case[] = [
  {
    name: 'run, env, workdir, user, cmd',
    dockerfile: `FROM ${BASE}
ENV APP_HOME=/srv/app GREETING="hello world"
WORKDIR $APP_HOME
RUN echo "$GREETING" > greeting && mkdir -p data/cache && chmod 700 data && chown -R 1000:1000 data
RUN ln -s greeting link && ln greeting hard && mkfifo -m 600 pipe
USER alice
CMD ["cat", "greeting"]
`,
  },
  {
    name: 'metadata instructions',
    dockerfile: `FROM ${BASE}
LABEL org.example.a=1 "org.example.b"="two words"
EXPOSE 80 53/udp 8000-8001
VOLUME /data /cache
VOLUME ["/json"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD test -e /bin/sh
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo shell form
`,
    dockerConfig: {
      Cmd: ['/bin/sh', '-ec', 'echo shell form'], // SHELL applies to CMD's shell form too
      ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} }, // ranges are expanded
    },
  },
  {
    name: 'deletions and opaque directories',
    dockerfile: `FROM ${BASE}
RUN rm /etc/group && rm -rf /home/alice && echo new > /home/new
RUN rm -rf /home && mkdir /home && echo only > /home/only && chmod 1777 /tmp
RUN echo x > /var/x && rm /var/x
`,
  },
  {
    name: 'copy rules: contents, slash, globs, chown by name and id, chmod',
    dockerfile: `FROM ${BASE}
COPY dir /copied
COPY *.txt /texts/
COPY a.txt /renamed.txt
COPY --chown=alice dir /owned-by-name/
COPY --chown=1000:10 a.txt /deep/new/path/
COPY --chmod=640 b.txt /etc/
COPY dir/sub /etc/
`,
    files: {
      'a.txt': 'a\n',
      'b.txt': { content: 'b\n', mode: 0o755 },
      'dir/one': 'one\n',
      'dir/sub/two': 'two\n',
      'dir/link': { symlink: 'one' },
      'dir/empty': { dir: true, mode: 0o700 },
    },
  },
  {
    name: 'dockerignore',
    dockerfile: `FROM ${BASE}
COPY . /ctx
`,
    files: { '.dockerignore': '*.log\nsecret/\n!keep.log\n', 'a.log': 'x', 'keep.log': 'k', 'secret/s': 's', 'src/main': 'm' },
  },
  {
    name: 'workdir created as the user',
    dockerfile: `FROM ${BASE}
USER alice
WORKDIR /work/nested
RUN touch made-by-alice
USER root
WORKDIR /etc
`,
  },
  {
    name: 'multi-stage and scratch',
    dockerfile: `FROM ${BASE} AS build
RUN mkdir /out && echo artifact > /out/file && chown -R 1000:1000 /out && chmod 750 /out
FROM scratch
COPY --from=build /out /out
COPY --from=build /bin/busybox /bin/busybox
`,
  },
  {
    name: 'add extracts archives',
    dockerfile: `FROM ${BASE}
ADD tree.tar /opt/
ADD tree.tar.gz /srv/
ADD plain.txt /etc/added.txt
`,
    files: { 'plain.txt': 'plain\n' },
    archives: true,
  },
  {
    name: 'arg and env scoping',
    dockerfile: `ARG VERSION=1
FROM ${BASE}
ARG VERSION
ARG OTHER=default
ENV VERSION=v$VERSION OTHER_ENV=$OTHER
RUN echo "$VERSION $OTHER" > /versions
`,
  },
];

async function buildBoth(
  c: Case,
  tag: string,
): Promise<{ ours: Map<string, TreeEntry>; theirs: Map<string, TreeEntry>; ourConfig: Record<string, unknown>; theirConfig: Record<string, unknown> }> {
  const dir = await writeContext(suite, { Dockerfile: c.dockerfile, ...(c.files ?? {}) });
  if (c.archives) {
    const tar = await packTar([
      { name: 'app', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
      { name: 'app/run', content: '#!/bin/sh\n', mode: 0o755, uid: 1000, gid: 10 },
      { name: 'app/link', type: 'symlink', linkname: 'run' },
      { name: 'app/conf', content: 'c', mode: 0o600 },
    ]);
    writeFileSync(join(dir, 'tree.tar'), tar);
    writeFileSync(join(dir, 'tree.tar.gz'), gzipSync(tar));
  }
  await suite.devboxOk(['build', '-q', '-t', tag, dir]);
  suite.podman(['build', '--pull=never', '--format', 'docker', '-q', '-t', tag, dir]);
  const out = await suite.tempDir('archives');
  await suite.devboxOk(['image', 'save', '-o', join(out, 'devbox.tar'), tag]);
  suite.podman(['save', '--format', 'docker-archive', '-o', join(out, 'podman.tar'), tag]);
  const ours = await flattenArchive(readFileSync(join(out, 'devbox.tar')));
  const theirs = await flattenArchive(readFileSync(join(out, 'podman.tar')));
  return { ours: ours.tree, theirs: theirs.tree, ourConfig: normalizeConfig(ours.config), theirConfig: normalizeConfig(theirs.config) };
}

for (const [i, c] of CASES.entries()) {
  test(`same image as podman build: ${c.name}`, async () => {
    const { ours, theirs, ourConfig, theirConfig } = await buildBoth(c, `localhost/diff-${i}`);
    for (const [field, value] of Object.entries(c.dockerConfig ?? {})) {
      assert.equal(ourConfig[field], value, `${field}, as Docker has it`);
      delete ourConfig[field];
      delete theirConfig[field];
    }
    assert.equal(ourConfig, theirConfig, 'image config');
    const differences = treeDifferences(ours, withoutBuildahStubs(theirs));
    assert.equal(differences, [], `root file systems differ:\n${differences.join('\n')}`);
  });
}

/** Builds an image with devbox, saves it and loads the archive into podman; returns its name there. */
async function builtIntoPodman(name: string): Promise<string> {
  const dir = await writeContext(suite, { Dockerfile: `FROM ${BASE}\nRUN echo built by devbox > /msg\nCMD ["cat", "/msg"]\n` });
  await suite.devboxOk(['build', '-q', '-t', name, dir]);
  const archive = join(await suite.tempDir('to-podman'), 'image.tar');
  await suite.devboxOk(['image', 'save', '-o', archive, name]);
  suite.podman(['rmi', '-f', name]);
  assert.match(suite.podman(['load', '-i', archive]), new RegExp(name));
  return name;
}

test('an image devbox built loads in podman with its config', async () => {
  const name = await builtIntoPodman('localhost/to-podman');
  assert.equal(JSON.parse(suite.podman(['image', 'inspect', '--format', '{{json .Config.Cmd}}', name])), ['cat', '/msg']);
});

// Rootful podman cannot start containers on this machine's hybrid cgroups: as root this is skipped, visibly.
(process.getuid!() === 0 ? test.skip : test)('an image devbox built runs in podman (rootless only)', async () => {
  const name = await builtIntoPodman('localhost/to-podman-run');
  assert.is(suite.podman(['run', '--rm', '--network', 'none', name]), 'built by devbox\n');
});

test.run();
