import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { DevboxError } from '../../src/util/errors.js';
import { formatRows, renderTemplate, TemplateError } from '../../src/util/go-template.js';

const volume = { Name: 'cache', Driver: 'local', Labels: { team: 'web', env: 'dev' }, Options: {}, Mounts: ['/a', '/b'], Size: 3 };

test('fields, nested fields and map keys print as Go prints them', () => {
  assert.is(renderTemplate('{{.Name}} on {{.Driver}}', volume), 'cache on local');
  assert.is(renderTemplate('{{.Labels.team}}', volume), 'web');
  assert.is(renderTemplate('{{.Labels}} {{.Mounts}} {{.Size}}', volume), 'map[env:dev team:web] [/a /b] 3');
  assert.is(renderTemplate('{{.State.Status}}', { State: { Status: 'running' } }), 'running');
});

test('pipelines and functions: json, join, index, len, printf, upper, eq', () => {
  assert.is(renderTemplate('{{json .Labels}}', volume), '{"team":"web","env":"dev"}');
  assert.is(renderTemplate('{{.Labels | json}}', volume), '{"team":"web","env":"dev"}');
  assert.is(renderTemplate('{{join .Mounts ","}}', volume), '/a,/b');
  assert.is(renderTemplate('{{index .Labels "env"}} {{len .Mounts}}', volume), 'dev 2');
  assert.is(renderTemplate('{{printf "%-6s|%3d" .Name .Size}}', volume), 'cache |  3');
  assert.is(renderTemplate('{{.Name | upper}} {{eq .Driver "local"}}', volume), 'CACHE true');
  assert.is(renderTemplate('{{json .}}', { a: [1, 'x'] }), '{"a":[1,"x"]}');
});

test('if/else, with, range (over lists and maps), $ and trimming', () => {
  assert.is(renderTemplate('{{if .Labels.team}}team {{.Labels.team}}{{else}}none{{end}}', volume), 'team web');
  assert.is(renderTemplate('{{if eq .Size 4}}four{{else}}not four{{end}}', volume), 'not four');
  assert.is(renderTemplate('{{range .Mounts}}[{{.}}]{{end}}', volume), '[/a][/b]');
  assert.is(renderTemplate('{{range .Labels}}{{.}};{{end}}', volume), 'dev;web;');
  assert.is(renderTemplate('{{range .Options}}x{{else}}empty{{end}}', volume), 'empty');
  assert.is(renderTemplate('{{with .Labels}}{{.team}}{{end}}', volume), 'web');
  assert.is(renderTemplate('{{range .Mounts}}{{$.Name}}:{{.}} {{end}}', volume), 'cache:/a cache:/b ');
  assert.is(renderTemplate('a  {{- .Name -}}  b', volume), 'acacheb');
});

for (const [template, message] of [
  ['{{.Nope}}', /can't evaluate field Nope/],
  ['{{.Name', /unclosed action/],
  ['{{if .Name}}x', /has no \{\{end\}\}/],
  ['{{end}}', /unexpected \{\{end\}\}/],
  ['{{bogus .Name}}', /function "bogus" not defined/],
] as const) {
  test(`a bad template is a usage error: ${template}`, () => {
    let caught: unknown;
    try {
      renderTemplate(template, volume);
    } catch (error) {
      caught = error;
    }
    assert.instance(caught, TemplateError);
    assert.match((caught as TemplateError).message, message);
    assert.is((caught as TemplateError).kind, 'usage');
  });
}

test('formatRows: json lines, a template per row, and table with headers and aligned columns', () => {
  const rows = [volume, { ...volume, Name: 'a-much-longer-name', Driver: 'local' }];
  assert.equal(formatRows('json', [volume], {}, ''), [JSON.stringify(volume)]);
  assert.equal(formatRows('{{.Name}}', rows, {}, ''), ['cache', 'a-much-longer-name']);
  assert.equal(formatRows('table', rows, { Name: 'VOLUME NAME' }, '{{.Driver}}\t{{.Name}}'), [
    'DRIVER   VOLUME NAME',
    'local    cache',
    'local    a-much-longer-name',
  ]);
  assert.equal(formatRows('table {{.Name}}\\t{{.Size}}', rows, {}, ''), ['NAME                 SIZE', 'cache                3', 'a-much-longer-name   3']);
});

const item = { Names: 'web', State: { Status: 'running', Pid: 42 }, Labels: { a: 'b' }, List: ['x', 'y'], Label: (k: string) => (k === 'a' ? 'b' : '') };

test('methods with arguments, as docker ps offers {{.Label "k"}}, and functions on them', () => {
  assert.is(renderTemplate('{{.Names}}: {{.State.Status}} {{.State.Pid}}', item), 'web: running 42');
  assert.is(
    renderTemplate('{{.Label "a"}}|{{index .Labels "a"}}|{{json .State}}|{{join .List ","}}|{{upper .Names}}', item),
    'b|b|{"Status":"running","Pid":42}|x,y|WEB',
  );
  assert.is(renderTemplate('{{.Label "a" | upper}}', item), 'B');
  assert.throws(() => renderTemplate('{{.Names "a"}}', item), /Names is not a method but has arguments/);
});

test('table headers name the last field of each action; \\t and \\n from a shell are a tab and a newline', () => {
  const lines = formatRows('table {{.Names}}\\t{{.State.Status}}', [item], { Names: 'NAMES' });
  assert.equal(lines, ['NAMES   STATUS', 'web     running']);
  assert.equal(formatRows('{{.Names}}\\n{{.State.Pid}}', [item], {}), ['web\n42']);
});

test('a template that does not parse is docker\'s "template parsing error", before any row', () => {
  for (const bad of ['{{.Names', '{{if .Names}}x', '{{end}}', '{{nosuch .Names}}']) {
    assert.throws(
      () => formatRows(bad, [], {}),
      (e: unknown) => e instanceof DevboxError && e.kind === 'usage' && /^template parsing error: /.test(e.message),
      bad,
    );
  }
});

test.run();
