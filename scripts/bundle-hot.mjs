#!/usr/bin/env node
/**
 * A build step (npm run build, after tsc): the entries bin/devbox runs without oclif (src/cli/entries.ts),
 * bundled by esbuild from tsc's output into CommonJS files, dist/bundle/NAME.cjs, and the entry table itself,
 * dist/bundle/entries.cjs. Node.js resolves, reads and links each ES module on its own: `devbox run --rm`
 * loaded ~60 of them, which cost more CPU than the sandbox's start; and even one ES module file costs more to
 * load than the same code as CommonJS (the ES module loader, linking, evaluation as a module graph): `devbox ps`
 * took ~18 ms less from a CommonJS bin/devbox and bundle than from an ES module bundle (2026-12-07). What an
 * entry imports lazily stays lazy: esbuild turns `import()` into a deferred `require()` of code in the same file.
 *
 * - An entry's lazy import of another entry points at that entry's bundle (run in a project goes on to the
 *   project bundle): the two share nothing but arguments and an exit status.
 * - `import.meta.url` is rewritten, per module, to the URL its tsc file has: paths computed from it (the
 *   helper, worker scripts, templates, createRequire) mean what they mean unbundled.
 * - Beside each entry's bundle, V8's code cache of it (scripts/code-cache.cjs).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'dist', 'src');
const out = join(root, 'dist', 'bundle');
const table = join(src, 'cli', 'entries.js');

/** The bundles of bin/devbox's entries: name → tsc module. */
const { ENTRIES: TABLE } = await import(table);
const ENTRIES = Object.fromEntries(TABLE.filter((e) => e.bundle).map((e) => [e.bundle, join(src, 'cli', `${e.module}.js`)]));

/** A relative import specifier from `dir` to `file`. */
function specifier(dir, file) {
  const path = relative(dir, file);
  return path.startsWith('.') ? path : `./${path}`;
}

function entryPlugin(name) {
  const others = new Map(
    Object.entries(ENTRIES)
      .filter(([other]) => other !== name)
      .map(([other, file]) => [file, join(out, `${other}.cjs`)]),
  );
  return {
    name: 'devbox-hot-entry',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        const bundle = others.get(resolve(args.resolveDir, args.path));
        if (bundle && args.kind === 'dynamic-import') return { path: specifier(out, bundle), external: true };
        return undefined;
      });
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(src)) return undefined;
        const url = `__devboxModuleUrl(${JSON.stringify(relative(out, args.path))})`;
        return { contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', url), loader: 'js' };
      });
    },
  };
}

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // import() of our own code and of bundled packages becomes a deferred require() (no ES module loader).
  supported: { 'dynamic-import': false },
  // What import.meta.url becomes: the URL of a tsc file, from its path relative to the bundle (a module's own
  // `require`, if it declares one, cannot shadow this top-level one).
  banner: {
    js: 'const __devboxModuleUrl = (path) => require("node:url").pathToFileURL(require("node:path").join(__dirname, path)).href;',
  },
  logLevel: 'warning',
};

rmSync(out, { recursive: true, force: true });
await build({ ...common, entryPoints: [table], outfile: join(out, 'entries.cjs') });
for (const [name, file] of Object.entries(ENTRIES)) {
  await build({
    ...common,
    entryPoints: [file],
    outfile: join(out, `${name}.cjs`),
    // A native addon, and oclif's optional TypeScript support, stay in node_modules.
    external: ['@napi-rs/lzma', 'typescript'],
    plugins: [entryPlugin(name)],
  });
}

/**
 * The bundle in ASCII: what esbuild leaves in comments and regular expressions as it was becomes a \uXXXX escape,
 * which means the same there (and in strings and identifiers), so that bin/devbox reads it as latin1, without
 * UTF-8 decoding (~2.5 ms of `devbox run`'s ~360 KB, 2026-12-07).
 */
function toAscii(path) {
  const text = readFileSync(path, 'utf8');
  // After a backslash the escape would mean a backslash and "u…" in a string: none is expected, none is let through.
  const escaped = /\\[\u0080-\uffff]/.exec(text);
  if (escaped) throw new Error(`${path}: a non-ASCII character after a backslash at offset ${escaped.index}`);
  writeFileSync(
    path,
    text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
}

for (const name of Object.keys(ENTRIES)) toAscii(join(out, `${name}.cjs`));
execFileSync(process.execPath, ['--random-seed=1', join(root, 'scripts', 'code-cache.cjs'), ...Object.keys(ENTRIES).map((name) => join(out, `${name}.cjs`))], {
  stdio: 'inherit',
});
