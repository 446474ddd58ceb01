/**
 * Hostile images (part of the hostile-input suite, with sandbox-isolation.test.ts): every file devbox reads
 * from an image's layers is resolved inside the image, so an image whose /etc or /usr is a symlink to a host
 * folder makes devbox read nothing of the host's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { busyboxRootfs, testDir, writeTar, type TarEntry } from '../helpers/images.js';

const projects: string[] = [];
/**
 * A host folder laid out like /etc, with a user and a group only the host has. The image has a folder at the
 * same path with its own files, so the sandbox finds its /etc and devbox reading the host's shows. Not under
 * /tmp, which is a tmpfs in the sandbox.
 */
let hostEtc: string;

/** The busybox root file system with /etc replaced by `etc` (entries under it, or a symlink). */
function withEtc(etc: TarEntry[]): TarEntry[] {
  return [...busyboxRootfs().filter((e) => e.name !== 'etc' && !e.name.startsWith('etc/')), ...etc];
}

async function importImage(name: string, entries: TarEntry[]): Promise<string> {
  const tar = join(await testDir('hostile-image'), 'rootfs.tar');
  await writeTar(tar, entries);
  await devboxOk(['image', 'import', tar, name]);
  return name;
}

async function project(image: string, files: Record<string, string> = {}): Promise<string> {
  const root = await testDir('hostile-project');
  writeFileSync(join(root, 'devbox.json'), JSON.stringify({ image }));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  projects.push(root);
  return root;
}

function assertOneLine(r: { exitCode: number; stderr: string }, status: number, message: RegExp): void {
  assert.is(r.exitCode, status, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, message);
}

test.before(async () => {
  hostEtc = mkdtempSync('/var/tmp/devbox-test-etc-');
  writeFileSync(join(hostEtc, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nhostonly:x:4242:4242::/hostonly:/bin/sh\n');
  writeFileSync(join(hostEtc, 'group'), 'root:x:0:\nhostgroup:x:4343:\n');
  const inImage = hostEtc.slice(1).split('/');
  // /etc a link to the host folder's path; /usr a link to the host's /usr, which has bin/bash.
  await importImage('etc-to-host:1', [
    ...withEtc([{ name: 'etc', type: 'symlink', linkname: hostEtc }]),
    ...inImage.map((_, i): TarEntry => ({ name: inImage.slice(0, i + 1).join('/'), type: 'directory' })),
    ...busyboxRootfs()
      .filter((e) => e.name.startsWith('etc/'))
      .map((e) => ({ ...e, name: `${hostEtc.slice(1)}/${e.name.slice(4)}` })),
    { name: 'usr', type: 'symlink', linkname: '/usr' },
  ]);
});

test.after(async () => {
  for (const root of projects) await devbox(['stop'], { cwd: root });
  rmSync(hostEtc, { recursive: true, force: true });
});

test('run -u NAME and -u UID:GROUP resolve against the image, not the host folder its /etc links to', async () => {
  assertOneLine(await devbox(['run', '--rm', '-u', 'hostonly', 'etc-to-host:1', 'true']), 125, /unable to find user hostonly/);
  assertOneLine(await devbox(['run', '--rm', '-u', '0:hostgroup', 'etc-to-host:1', 'true']), 125, /unable to find group hostgroup/);
});

test("a project sandbox's /etc/passwd has nothing of the host folder, and its shell is not found through the host's /usr", async () => {
  const root = await project('etc-to-host:1');
  const r = await devboxOk(['run', 'sh', '-c', 'cat /etc/passwd; echo "shell=$SHELL"'], { cwd: root });
  assert.not.match(r.stdout, 'hostonly');
  assert.match(r.stdout, /^shell=\/bin\/sh$/m);
});

test('a build resolves USER and --chown against the image, not the host folder its /etc links to', async () => {
  for (const [instructions, message] of [
    ['USER hostonly\nRUN true\n', /unable to find user hostonly/],
    ['COPY --chown=hostonly f /f\n', /unable to find user "hostonly"/],
    ['COPY --chown=0:hostgroup f /f\n', /unable to find group "hostgroup"/],
  ] as const) {
    const context = await testDir('hostile-context');
    writeFileSync(join(context, 'Dockerfile'), `FROM etc-to-host:1\n${instructions}`);
    writeFileSync(join(context, 'f'), 'f\n');
    const r = await devbox(['build', '-q', '-t', 'hostile-build:1', context]);
    assert.is(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, message);
  }
});

test('links inside the image are followed inside it: /etc → /alt/etc, and a relative link that climbs past the root', async () => {
  const alt: TarEntry[] = [
    { name: 'alt', type: 'directory' },
    { name: 'alt/etc', type: 'directory' },
    { name: 'alt/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\naltuser:x:4444:4444::/:/bin/sh\n' },
    { name: 'alt/etc/group', content: 'root:x:0:\naltgroup:x:4545:\n' },
  ];
  for (const [name, link] of [
    ['etc-absolute:1', '/alt/etc'],
    ['etc-relative:1', '../../../alt/etc'],
  ]) {
    await importImage(name, withEtc([...alt, { name: 'etc', type: 'symlink', linkname: link }]));
    const r = await devboxOk(['run', '--rm', '-u', 'altuser:altgroup', name, 'sh', '-c', 'echo $(id -u):$(id -g)']);
    assert.is(r.stdout, '4444:4545\n', name);
  }
});

test.run();
