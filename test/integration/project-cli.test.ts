import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'jsonc-parser';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { devbox, devboxOk } from '../helpers/cli.js';
import { projectDir } from '../helpers/project.js';

test('init --list shows every template with its description', async () => {
  const { stdout } = await devboxOk(['init', '--list']);
  const lines = stdout.trim().split('\n');
  assert.match(lines[0], /^TEMPLATE\s+DESCRIPTION$/);
  assert.equal(
    lines.slice(1).map((line) => line.split(/\s+/)[0]),
    ['base', 'go', 'java', 'node', 'postgres', 'python', 'rust'],
  );
  assert.match(stdout, /\nnode\s+Node\.js 24 \(LTS\) and npm 11 on Debian 12/);
});

test('init writes the project, refuses a second time with exit 1 and one line, and --force overwrites', async () => {
  const root = projectDir();
  const first = await devboxOk(['init', '--template', 'python'], { cwd: root });
  assert.is(
    first.stdout,
    'wrote devbox.json\nwrote .devbox/Dockerfile\nwrote .devbox/devbox.schema.json\nEdit .devbox/Dockerfile for your tools, then run: devbox shell\n',
  );
  assert.match(readFileSync(join(root, '.devbox/Dockerfile'), 'utf8'), /python3-venv/);
  writeFileSync(join(root, 'devbox.json'), '{ "image": "mine" }\n');

  const again = await devbox(['init', '-t', 'go'], { cwd: root });
  assert.is(again.exitCode, 1);
  assert.is(
    again.stderr,
    `devbox: ${join(root, 'devbox.json')} and ${join(root, '.devbox/Dockerfile')} already exist; nothing written (devbox init --force overwrites them)\n`,
  );
  assert.is(readFileSync(join(root, 'devbox.json'), 'utf8'), '{ "image": "mine" }\n');

  await devboxOk(['init', '-t', 'go', '--force'], { cwd: root });
  assert.match(readFileSync(join(root, '.devbox/Dockerfile'), 'utf8'), /golang-go/);
});

test('an unknown template lists the names and writes nothing', async () => {
  const root = projectDir();
  const r = await devbox(['init', '--template', 'cobol'], { cwd: root });
  assert.is(r.exitCode, 1);
  assert.is(r.stderr, 'devbox: unknown template "cobol" (choose one of: base, go, java, node, postgres, python, rust)\n');
  assert.not.ok(existsSync(join(root, 'devbox.json')));
});

test("editor vscode, run from a subfolder, merges into the project root's settings.json", async () => {
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
  assert.is(
    r.stderr,
    `devbox: no devbox.json or .devcontainer/devcontainer.json in ${root} or any folder above it (run devbox init in the project's root folder (devbox init --list shows the templates))\n`,
  );
  assert.not.ok(existsSync(join(root, '.vscode')));
});

test('editor jetbrains prints the shell path, using plain "devbox" when the PATH finds it', async () => {
  const bin = projectDir({ devbox: '#!/bin/sh\n' });
  chmodSync(join(bin, 'devbox'), 0o755);
  const r = await devboxOk(['editor', 'jetbrains'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.is(r.stdout, 'devbox shell\n');
  assert.match(r.stderr, /Settings \| Tools \| Terminal \| Shell path/);
});

/** How each shell runs the hook before a prompt, and sets and unsets a variable. */
const SHELLS = {
  bash: {
    argv: ['bash', '--norc', '--noprofile', '-c'],
    prompt: 'eval "$PROMPT_COMMAND"',
    set: (k: string, v: string) => `${k}=${v}`,
    unset: (k: string) => `unset ${k}`,
  },
  zsh: {
    argv: ['zsh', '-f', '-c'],
    prompt: 'for f in $precmd_functions; do $f; done',
    set: (k: string, v: string) => `${k}=${v}`,
    unset: (k: string) => `unset ${k}`,
  },
  fish: {
    argv: ['fish', '--no-config', '-c'],
    prompt: 'emit fish_prompt',
    set: (k: string, v: string) => `set -g ${k} ${v}`,
    unset: (k: string) => `set -e ${k}`,
  },
};

/**
 * The hooks from `devbox shellenv`, run by the real shells before each "prompt". `devbox` on the PATH is a
 * recorder here: what `devbox shell` does is the sandbox's business; this checks when the hook enters.
 */
for (const [name, shell] of Object.entries(SHELLS)) {
  test(`shellenv ${name}: enters a project once per visit, from any subfolder, never inside a sandbox or when turned off`, async () => {
    const bin = projectDir();
    const log = join(bin, 'calls.log');
    writeFileSync(join(bin, 'devbox'), `#!/bin/sh\necho "$* $PWD" >> ${log}\n`);
    chmodSync(join(bin, 'devbox'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const hook = (await devboxOk(['shellenv', name], { env })).stdout;

    const shop = projectDir({ 'devbox.json': '{}', 'src/deep/.keep': '' });
    const blog = projectDir({ '.devcontainer.json': '{}' });
    mkdirSync(join(blog, 'posts'));
    const visit = (dir: string) => `cd ${dir}; ${shell.prompt}`;
    const script = [
      hook,
      visit(`${shop}/src/deep`),
      shell.prompt, // entered once
      visit(shop), // same project: not again
      visit('/'),
      visit(shop), // left and came back: again
      visit(`${blog}/posts`), // another project
      shell.set('DEVBOX_AUTO_SHELL', '0'),
      visit('/'),
      visit(shop),
      shell.unset('DEVBOX_AUTO_SHELL'),
      visit('/'),
      shell.set('DEVBOX_PROJECT', shop),
      visit(shop), // inside a sandbox
    ].join('\n');
    execFileSync(shell.argv[0], [...shell.argv.slice(1), script], { env: { ...process.env, ...env }, stdio: 'inherit' });
    assert.is(readFileSync(log, 'utf8'), `shell ${shop}/src/deep\nshell ${shop}\nshell ${blog}/posts\n`);
  });
}

test.run();
