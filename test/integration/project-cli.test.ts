import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'jsonc-parser';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { projectDir } from '../helpers/project.js';

test('init --list shows every template with its description', async () => {
  const { stdout } = await devboxOk(['init', '--list']);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0], /^TEMPLATE\s+DESCRIPTION$/);
  assert.equal(lines.slice(1).map((line) => line.split(/\s+/)[0]), ['base', 'go', 'java', 'node', 'python', 'rust']);
  assert.match(stdout, /\nnode\s+Node\.js 18\.20 and npm 9 from Debian 12/);
});

test('init writes the project, refuses a second time with exit 1 and one line, and --force overwrites', async () => {
  const root = projectDir();
  const first = await devboxOk(['init', '--template', 'python'], { cwd: root });
  assert.is(first.stdout, 'wrote devbox.json\nwrote .devbox/Dockerfile\nwrote .devbox/devbox.schema.json\nEdit .devbox/Dockerfile for your tools, then run: devbox shell\n');
  assert.match(readFileSync(join(root, '.devbox/Dockerfile'), 'utf8'), /python3-venv/);
  writeFileSync(join(root, 'devbox.json'), '{ "image": "mine" }\n');

  const again = await devbox(['init', '-t', 'go'], { cwd: root });
  assert.is(again.exitCode, 1);
  assert.is(again.stderr, `devbox: ${join(root, 'devbox.json')} and ${join(root, '.devbox/Dockerfile')} already exist; nothing written (devbox init --force overwrites them)\n`);
  assert.is(readFileSync(join(root, 'devbox.json'), 'utf8'), '{ "image": "mine" }\n');

  await devboxOk(['init', '-t', 'go', '--force'], { cwd: root });
  assert.match(readFileSync(join(root, '.devbox/Dockerfile'), 'utf8'), /golang-go/);
});

test('an unknown template lists the names and writes nothing', async () => {
  const root = projectDir();
  const r = await devbox(['init', '--template', 'cobol'], { cwd: root });
  assert.is(r.exitCode, 1);
  assert.is(r.stderr, 'devbox: unknown template "cobol" (choose one of: base, go, java, node, python, rust)\n');
  assert.not.ok(existsSync(join(root, 'devbox.json')));
});

test('editor vscode, run from a subfolder, merges into the project root\'s settings.json', async () => {
  const root = projectDir({
    '.devcontainer/devcontainer.json': '{ "image": "debian:bookworm" }',
    '.vscode/settings.json': '{\n  // team settings\n  "editor.tabSize": 2\n}\n',
    'src/lib/x.ts': '',
  });
  const r = await devboxOk(['editor', 'vscode'], { cwd: join(root, 'src/lib') });
  assert.is(r.stdout, 'updated ../../.vscode/settings.json: new terminals open in devbox shell\n');
  const text = readFileSync(join(root, '.vscode/settings.json'), 'utf8');
  assert.match(text, /^\{\n {2}\/\/ team settings\n {2}"editor\.tabSize": 2,\n/);
  const settings = parse(text);
  assert.is(settings['terminal.integrated.defaultProfile.linux'], 'devbox');
  assert.equal(settings['terminal.integrated.profiles.linux'].devbox.args, ['shell']);
  assert.is((await devboxOk(['editor', 'vscode'], { cwd: root })).stdout, `${join(root, '.vscode/settings.json')} is already set up\n`);
});

test('editor vscode outside any project says how to create one', async () => {
  const root = projectDir();
  const r = await devbox(['editor', 'vscode'], { cwd: root });
  assert.is(r.exitCode, 1);
  assert.is(r.stderr, `devbox: no devbox.json or .devcontainer/devcontainer.json in ${root} or any folder above it (run devbox init in the project's root folder (devbox init --list shows the templates))\n`);
  assert.not.ok(existsSync(join(root, '.vscode')));
});

test('editor jetbrains prints the shell path, using plain "devbox" when the PATH finds it', async () => {
  const bin = projectDir({ 'devbox': '#!/bin/sh\n' });
  chmodSync(join(bin, 'devbox'), 0o755);
  const r = await devboxOk(['editor', 'jetbrains'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.is(r.stdout, 'devbox shell\n');
  assert.match(r.stderr, /Settings \| Tools \| Terminal \| Shell path/);
});

/**
 * The bash hook from `devbox shellenv bash`, run by a real bash before each "prompt" (we call the hook the
 * way PROMPT_COMMAND would). `devbox` on the PATH is a recorder here: `devbox shell` itself is the
 * sandbox's business; this checks when the hook enters.
 */
test('shellenv bash: enters a project once per visit, from any subfolder, never inside a sandbox or when turned off', async () => {
  const bin = projectDir();
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'devbox'), `#!/bin/sh\necho "$* $PWD" >> ${log}\n`);
  chmodSync(join(bin, 'devbox'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}` };
  const hook = (await devboxOk(['shellenv', 'bash'], { env })).stdout;
  assert.match(hook, /PROMPT_COMMAND="\$\{PROMPT_COMMAND:\+\$PROMPT_COMMAND;\}_devbox_auto_shell"/);

  const shop = projectDir({ 'devbox.json': '{}', 'src/deep/.keep': '' });
  const blog = projectDir({ '.devcontainer.json': '{}' });
  mkdirSync(join(blog, 'posts'));
  const script = `${hook}
prompt() { eval "$PROMPT_COMMAND"; }
cd ${shop}/src/deep; prompt; prompt
cd ${shop}; prompt
cd /; prompt
cd ${shop}; prompt
cd ${blog}/posts; prompt
DEVBOX_AUTO_SHELL=0; cd /; prompt; cd ${shop}; prompt; unset DEVBOX_AUTO_SHELL
cd /; prompt; DEVBOX_PROJECT=${shop}; cd ${shop}; prompt
`;
  execFileSync('bash', ['--norc', '--noprofile', '-c', script], { env: { ...process.env, ...env }, stdio: 'inherit' });
  assert.is(readFileSync(log, 'utf8'), `shell ${shop}/src/deep\nshell ${shop}\nshell ${blog}/posts\n`);
});

test.run();
