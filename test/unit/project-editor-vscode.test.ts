import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'jsonc-parser';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { configureVscode, mergeVscodeSettings } from '../../src/project/editor-vscode.js';
import { errorLine, projectDir } from '../helpers/project.js';

const EXPECTED = {
  'terminal.integrated.profiles.linux': { devbox: { path: 'devbox', args: ['shell'] } },
  'terminal.integrated.defaultProfile.linux': 'devbox',
  'terminal.integrated.automationProfile.linux': { path: 'devbox', args: ['run', 'sh'] },
  'files.associations': { 'devbox.json': 'jsonc' },
};

test('a new settings.json holds the profile, made the default, and the automation profile', () => {
  const text = mergeVscodeSettings('/p/.vscode/settings.json', '', 'devbox');
  assert.equal(JSON.parse(text), EXPECTED);
  assert.ok(text.endsWith('}\n'));
});

test("merging keeps the user's comments, trailing commas, tabs, other settings and profile keys", () => {
  const before = [
    '{',
    '\t// Font for the team',
    '\t"editor.fontSize": 14,',
    '\t/* other profiles stay */',
    '\t"terminal.integrated.profiles.linux": {',
    '\t\t"zsh": { "path": "zsh" },',
    '\t\t"devbox": { "color": "terminal.ansiGreen" },',
    '\t},',
    '\t"files.associations": { "*.tpl": "html" },',
    '}',
    '',
  ].join('\n');
  const after = mergeVscodeSettings('/p/.vscode/settings.json', before, 'devbox');
  for (const line of ['\t// Font for the team', '\t"editor.fontSize": 14,', '\t/* other profiles stay */', '\t\t"zsh": { "path": "zsh" },']) {
    assert.ok(after.includes(`${line}\n`), line);
  }
  assert.match(after, /\n\t"terminal\.integrated\.defaultProfile\.linux": "devbox"/);
  assert.not.match(after, /\n {2,}"/, 'indented with tabs like the file');
  assert.equal(parse(after, [], { allowTrailingComma: true }), {
    'editor.fontSize': 14,
    'terminal.integrated.profiles.linux': { zsh: { path: 'zsh' }, devbox: { color: 'terminal.ansiGreen', path: 'devbox', args: ['shell'] } },
    'files.associations': { '*.tpl': 'html', 'devbox.json': 'jsonc' },
    'terminal.integrated.defaultProfile.linux': 'devbox',
    'terminal.integrated.automationProfile.linux': { path: 'devbox', args: ['run', 'sh'] },
  });
  assert.is(mergeVscodeSettings('/p/.vscode/settings.json', after, 'devbox'), after, 'a second merge changes nothing');
});

test('CRLF files stay CRLF', () => {
  const after = mergeVscodeSettings('/p/s.json', '{\r\n  "a": 1\r\n}\r\n', 'devbox');
  assert.not.match(after.replace(/\r\n/g, ''), /\n/);
  assert.match(after, /\r\n {2}"terminal\.integrated\.defaultProfile\.linux": "devbox"/);
});

test('a broken settings.json is refused at its line and column, and left alone', async () => {
  const root = projectDir({ '.vscode/settings.json': '{\n  "a": 1,\n  "b" 2\n}\n' });
  const path = join(root, '.vscode/settings.json');
  assert.is(await errorLine(() => configureVscode(root, 'devbox')), `${path}:3:7: invalid JSON: expected ":" (fix the syntax at that position)`);
  assert.is(readFileSync(path, 'utf8'), '{\n  "a": 1,\n  "b" 2\n}\n');
  const array = projectDir({ '.vscode/settings.json': '[]' });
  assert.match(await errorLine(() => configureVscode(array, 'devbox')), /settings\.json: VS Code settings must be a JSON object/);
});

test('configureVscode writes .vscode/settings.json once, then reports no change', async () => {
  const root = projectDir();
  assert.equal(await configureVscode(root, '/opt/devbox/bin/devbox'), { path: join(root, '.vscode/settings.json'), changed: true });
  assert.is(JSON.parse(readFileSync(join(root, '.vscode/settings.json'), 'utf8'))['terminal.integrated.profiles.linux'].devbox.path, '/opt/devbox/bin/devbox');
  assert.equal(await configureVscode(root, '/opt/devbox/bin/devbox'), { path: join(root, '.vscode/settings.json'), changed: false });
});

test.run();
