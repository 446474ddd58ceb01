import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { formatItems, parseTemplate, renderTemplate } from '../../src/cli/go-template.js';
import { DevboxError } from '../../src/util/errors.js';

const item = { Names: 'web', State: { Status: 'running', Pid: 42 }, Labels: { a: 'b' }, List: ['x', 'y'], Label: (k: string) => (k === 'a' ? 'b' : '') };
const render = (t: string, dot: unknown = item) => renderTemplate(parseTemplate(t), dot);

test('fields, nested fields, methods with arguments and functions render as docker does', () => {
  assert.is(render('{{.Names}}: {{.State.Status}} {{.State.Pid}}'), 'web: running 42');
  assert.is(render('{{.Label "a"}}|{{index .Labels "a"}}|{{json .State}}|{{join .List ","}}|{{upper .Names}}'), 'b|b|{"Status":"running","Pid":42}|x,y|WEB');
  assert.is(render('{{if .Names}}named{{else}}anonymous{{end}} {{range .List}}<{{.}}>{{end}}'), 'named <x><y>');
});

test('table formats get a header row and aligned columns; json gives one object per line; \\t from a shell is a tab', () => {
  const lines = formatItems('table {{.Names}}\\t{{.State.Status}}', [item], { Names: 'NAMES', State: 'STATE' });
  assert.is(lines.length, 2);
  assert.match(lines[0], /^NAMES\s+/);
  assert.match(lines[1], /^web\s+running$/);
  assert.equal(formatItems('json', [{ a: 1 }], {}), ['{"a":1}']);
});

test('malformed templates and unknown fields are one usage error', () => {
  for (const bad of ['{{.Names', '{{if .Names}}x', '{{end}}', '{{nosuch .Names}}']) {
    assert.throws(
      () => parseTemplate(bad) && render(bad),
      (e: unknown) => e instanceof DevboxError && e.kind === 'usage' && /template parsing error/.test(e.message),
      bad,
    );
  }
  assert.throws(() => render('{{.Missing}}'), /can't evaluate field Missing/);
});

test.run();
