#!/usr/bin/env node
// Entry point. `devbox run` is the hot path and skips oclif; everything else (and all help) goes through it.
const argv = process.argv.slice(2);
const wantsHelp = argv.includes('--help');
if (argv[0] === 'run' && !wantsHelp) {
  const { runMain } = await import('../dist/src/cli/run-main.js');
  process.exitCode = await runMain(argv.slice(1));
} else {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
