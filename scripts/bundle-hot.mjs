#!/usr/bin/env node
/**
 * A build step (npm run build, after tsc): the entries bin/devbox runs without oclif, bundled by esbuild
 * from tsc's output. Node.js resolves, reads and links each ES module on its own: `devbox run --rm` loaded
 * ~60 of them, which cost more CPU than the sandbox's start. Each entry becomes dist/bundle/NAME/NAME.js
 * plus the chunks that what it imports lazily needs (splitting: code shared by the entry and a lazy import
 * is in one chunk, loaded once), so one process has one copy of every module.
 *
 * - An entry's lazy import of another entry points at that entry's bundle (run in a project goes on to the
 *   project bundle): the two share nothing but arguments and an exit status.
 * - `import.meta.url` is rewritten, per module, to the URL its tsc file has: paths computed from it (the
 *   helper, worker scripts, templates, createRequire) mean what they mean unbundled.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'dist', 'src');
const out = join(root, 'dist', 'bundle');

/** The bundles of bin/devbox's entries (src/cli/entries.ts): name → tsc module. */
const { ENTRIES: TABLE } = await import(join(src, 'cli', 'entries.js'));
const ENTRIES = Object.fromEntries(TABLE.filter((e) => e.bundle).map((e) => [e.bundle, join(src, 'cli', `${e.module}.js`)]));

/** A relative import specifier from `dir` to `file`. */
function specifier(dir, file) {
  const path = relative(dir, file);
  return path.startsWith('.') ? path : `./${path}`;
}

function entryPlugin(name) {
  const outdir = join(out, name);
  const others = new Map(
    Object.entries(ENTRIES)
      .filter(([other]) => other !== name)
      .map(([other, file]) => [file, join(out, other, `${other}.js`)]),
  );
  return {
    name: 'devbox-hot-entry',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        const bundle = others.get(resolve(args.resolveDir, args.path));
        if (bundle && args.kind === 'dynamic-import') return { path: specifier(outdir, bundle), external: true };
        return undefined;
      });
      b.onLoad({ filter: /\.js$/ }, (args) => {
        if (!args.path.startsWith(src)) return undefined;
        const url = `new URL(${JSON.stringify(specifier(outdir, args.path))}, import.meta.url).href`;
        return { contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', url), loader: 'js' };
      });
    },
  };
}

rmSync(out, { recursive: true, force: true });
for (const [name, file] of Object.entries(ENTRIES)) {
  await build({
    entryPoints: { [name]: file },
    outdir: join(out, name),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // A native addon, and oclif's optional TypeScript support, stay in node_modules.
    external: ['@napi-rs/lzma', 'typescript'],
    // The CommonJS packages bundled (tar-stream and its kin) require() Node.js's built-in modules.
    banner: { js: "import { createRequire as __devboxRequire } from 'node:module'; const require = __devboxRequire(import.meta.url);" },
    plugins: [entryPlugin(name)],
    logLevel: 'warning',
  });
}
