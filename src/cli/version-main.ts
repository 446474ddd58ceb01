/**
 * `devbox version` (as podman version: devbox's version, the Node.js it runs on, OS/Arch; --format json or a
 * Go template over those fields, --json) and `devbox --version` (the line oclif prints for it:
 * `devbox/VERSION PLATFORM-ARCH node-VERSION`). bin/devbox runs both without oclif, whose loading cost several
 * times what either prints; the oclif command (commands/version.ts) is its help and calls the same versionMain.
 */
import { readFileSync } from 'node:fs';
import { formatItems } from './go-template.js';
import { optionUsage, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const VERSION_OPTION_DEFS: readonly OptionDef[] = [{ name: 'format', char: 'f', kind: 'string', description: 'Go template, or "json"' }];

/** What `devbox version` reports, in podman's field names where it has them. */
interface VersionInfo {
  Version: string;
  NodeVersion: string;
  Os: string;
  OsArch: string;
}

/** Go's names for Node.js's architectures, as podman's OS/Arch shows them. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function versionInfo(): VersionInfo {
  return {
    Version: packageVersion(),
    NodeVersion: process.version,
    Os: process.platform,
    OsArch: `${process.platform}/${GO_ARCH[process.arch] ?? process.arch}`,
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
    if (positionals.length) throw optionUsage('version', `"devbox version" takes no arguments, not "${positionals[0]}"`);
    const info = versionInfo();
    if (values.json) return printJson(info);
    const format = values.format as string | undefined;
    if (format) return printLines(formatItems(format, [info], {}));
    return printLines([`Version:      ${info.Version}`, `Node Version: ${info.NodeVersion}`, `OS/Arch:      ${info.OsArch}`]);
  } catch (error) {
    return reportError(error);
  }
}
