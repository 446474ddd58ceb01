#!/usr/bin/env node
/**
 * A build step (npm run build, after the oclif manifest): dist/root-help.txt, the text oclif prints for
 * `devbox --help` (and `devbox`, `devbox help`) when stdout is not a terminal, so that bin/devbox prints it
 * without loading oclif (~150 ms here). It is oclif's own output, captured from a child that runs oclif as
 * bin/devbox does; the version line's platform and Node.js are a placeholder that bin/devbox fills in (the Node.js
 * that runs devbox need not be the one that built it). On a terminal (bold headings, its own width) bin/devbox
 * lets oclif render it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What bin/devbox puts in place of `PLATFORM-ARCH node-VERSION` in the version line. */
export const PLATFORM_MARK = '{{platform}}';

const root = fileURLToPath(new URL('..', import.meta.url));

/** oclif's root help as a pipe gets it (no colour, 80 columns). */
export function oclifRootHelp(env = process.env) {
  const { OCLIF_COLUMNS, FORCE_COLOR, ...rest } = env;
  const script = `const { execute } = await import('@oclif/core'); await execute({ dir: ${JSON.stringify(root)}, args: ['--help'] });`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    env: rest,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const platform = `${process.platform}-${process.arch} node-${process.version}`;
  const text = oclifRootHelp();
  if (!text.includes(platform)) throw new Error(`oclif's root help has no "${platform}" in its version line`);
  writeFileSync(join(root, 'dist', 'root-help.txt'), text.replace(platform, PLATFORM_MARK));
}
