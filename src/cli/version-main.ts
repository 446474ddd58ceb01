/**
 * `devbox version` (as docker version: a Client block — devbox, the Node.js it runs on, OS/arch, kernel — and
 * an Engine block: devbox has no daemon, its native helper is the engine; --format json or a Go template over
 * those fields, --json) and `devbox --version` (the line oclif prints for it: `devbox/VERSION PLATFORM-ARCH
 * node-VERSION`). bin/devbox runs both without oclif, whose loading cost several times what either prints; the
 * oclif command (commands/version.ts) is its help and calls the same versionMain.
 */
import { readFileSync } from 'node:fs';
import { arch, release } from 'node:os';
import { helperPath } from '../runtime/helper.js';
import { describeError } from '../util/errors.js';
import { formatRows } from '../util/go-template.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const VERSION_OPTION_DEFS: readonly OptionDef[] = [{ name: 'format', char: 'f', kind: 'string', description: 'Go template, or "json"' }];

export interface VersionInfo {
  Client: { Version: string; NodeVersion: string; Os: string; Arch: string; KernelVersion: string };
  /** docker's Server block: devbox has no daemon; the native helper is its engine, built from the same tree. */
  Engine: { Version: string; Helper: string; Daemonless: boolean };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function versionInfo(): VersionInfo {
  let helper: string;
  try {
    helper = helperPath();
  } catch (error) {
    helper = `missing (${describeError(error)})`;
  }
  const version = packageVersion();
  return {
    Client: { Version: version, NodeVersion: process.version, Os: 'linux', Arch: arch() === 'x64' ? 'amd64' : arch(), KernelVersion: release() },
    Engine: { Version: version, Helper: helper, Daemonless: true },
  };
}

/** `devbox --version`: one line, as oclif's user agent. */
export function versionLine(): number {
  return printLines([`devbox/${packageVersion()} ${process.platform}-${process.arch} node-${process.version}`]);
}

/** `devbox version ARGV...`; returns the exit status. */
export async function versionMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('version', VERSION_OPTION_DEFS, argv, { json: true });
    checkOperands('version', positionals);
    const info = versionInfo();
    if (values.json) return printJson(info);
    const format = values.format as string | undefined;
    if (format) return printLines(formatRows(format, [info], {}));
    return printLines([
      'Client: devbox',
      ` Version:        ${info.Client.Version}`,
      ` Node.js:        ${info.Client.NodeVersion}`,
      ` OS/Arch:        ${info.Client.Os}/${info.Client.Arch}`,
      ` Kernel:         ${info.Client.KernelVersion}`,
      '',
      'Engine: devbox-helper (daemonless: each command is a short process)',
      ` Version:        ${info.Engine.Version}`,
      ` Helper:         ${info.Engine.Helper}`,
    ]);
  } catch (error) {
    return reportError(error);
  }
}
