/** An image that can make single system calls: busybox plus test/fixtures/syscall-probe.c as /probe. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devboxOk } from './cli.js';
import { busyboxRootfs, testDir, writeTar } from './images.js';

const SOURCE = fileURLToPath(new URL('../../../test/fixtures/syscall-probe.c', import.meta.url));

/** The probe, compiled statically (gcc, libc6-dev) once per test run into the suites' temp dir. */
export function syscallProbe(): string {
  const base = process.env.DEVBOX_TEST_TMP;
  if (!base) throw new Error('DEVBOX_TEST_TMP is not set: run the suites through test/run-suites.sh');
  const binary = join(base, 'syscall-probe');
  if (!existsSync(binary)) execFileSync('gcc', ['-static', '-O2', '-o', binary, SOURCE], { stdio: ['ignore', 'ignore', 'inherit'] });
  return binary;
}

/** Imports busybox with /probe as `name`: `devbox run IMAGE /probe keyctl` prints "ok" or the errno's name. */
export async function importProbeImage(name = 'probe:latest'): Promise<string> {
  const path = join(await testDir('probe'), 'rootfs.tar');
  await writeTar(path, [...busyboxRootfs(), { name: 'probe', content: readFileSync(syscallProbe()), mode: 0o755 }]);
  await devboxOk(['image', 'import', path, name]);
  return name;
}
