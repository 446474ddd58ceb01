#!/usr/bin/env node
/**
 * The last build step (npm run build, after tsc): oclif.manifest.json, every command's id, flags, args and
 * help, written by oclif's own plugin loader from the compiled command classes (what the `oclif manifest`
 * command of oclif's developer CLI does, without that package's hundreds of dependencies). With it, `devbox
 * --help` and every oclif command load the one command class they run instead of all of them. npm pack ships
 * the file (package.json "files"); oclif ignores a manifest whose version is not package.json's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const root = fileURLToPath(new URL('..', import.meta.url));
// ignoreManifest: a stale manifest of an earlier build must not be the source of the new one.
const plugin = new Plugin({ root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
await plugin.load();
writeFileSync(join(root, 'oclif.manifest.json'), `${JSON.stringify(plugin.manifest)}\n`);
