/**
 * A Docker credential helper for tests: a real program on PATH speaking the helper protocol
 * (`docker-credential-NAME get`, server address on stdin, JSON on stdout), holding the given credentials and
 * logging every address it was asked for, one per line, to `<dir>/asked`.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface HelperEntry {
  username: string;
  secret: string;
}

/** Writes `docker-credential-NAME` into `dir`; an address it does not hold gets Docker's "not found" answer. */
export function writeCredentialHelper(dir: string, name: string, entries: Record<string, HelperEntry>): string {
  const cases = Object.entries(entries)
    .map(
      ([address, e]) =>
        `  ${JSON.stringify(address)}) printf '%s' ${shellQuote(JSON.stringify({ ServerURL: address, Username: e.username, Secret: e.secret }))} ;;`,
    )
    .join('\n');
  const program = join(dir, `docker-credential-${name}`);
  writeFileSync(
    program,
    `#!/bin/sh
[ "$1" = get ] || { echo "unsupported action $1" >&2; exit 1; }
read -r address
echo "$address" >> ${shellQuote(join(dir, 'asked'))}
case "$address" in
${cases}
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`,
  );
  chmodSync(program, 0o755);
  return program;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
