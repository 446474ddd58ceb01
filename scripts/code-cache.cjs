#!/usr/bin/env node
/**
 * A build step, run by scripts/bundle-hot.mjs with `--random-seed=1` on the bundles it wrote: V8's code cache of
 * each, NAME.cjs.cache beside it, which bin/devbox hands to the compile (loading run.cjs took a median 31 ms,
 * 18 ms with its cache, at load 4, 2026-12-07). V8 takes a cache only from its own version with the
 * same flags, and compiles as before otherwise. The fixed seed makes it the same bytes at every build (V8 seeds
 * its hashes at random).
 */
const { readFileSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { relative } = require('node:path');
const { Script } = require('node:vm');

if (!process.execArgv.includes('--random-seed=1')) {
  console.error('code-cache: run as node --random-seed=1 scripts/code-cache.cjs BUNDLE...');
  process.exit(1);
}
for (const bundle of process.argv.slice(2)) {
  // Named by its path in the package: the name in a cache is what stack traces show, wherever the bundle runs
  // from. A copy of the text: V8 would write the whole absolute path that relative()'s slice of it points into.
  const filename = Buffer.from(relative(`${__dirname}/..`, bundle)).toString();
  // Wrapped as Node.js wraps a CommonJS module, and read as latin1 (the bundle is ASCII), as bin/devbox compiles it.
  const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename });
  writeFileSync(`${bundle}.cache`, script.createCachedData());
}
