/**
 * Certificate authorities a sandbox trusts besides its image's (the `caCertificates` setting: a proxy's CA,
 * or the host's whole bundle): the image's bundle and the given file, concatenated into the sandbox's folder
 * and bound where Debian and Ubuntu, Alpine, Red Hat and SUSE read theirs, and at /etc/devbox/ca-certificates.crt
 * for the variables Node.js, Python's requests and OpenSSL read (entry environment). The copy is the
 * sandbox's own and writable: a package that updates the image's bundle (update-ca-certificates) rewrites it
 * instead of failing on a read-only file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageHasFile, readImageFile } from '../image/image-files.js';
import type { BindMount } from '../runtime/spec.js';
import { DevboxError, describeError } from '../util/errors.js';

/** Where distributions keep their bundle of trusted CAs (relative to the root). */
const DISTRIBUTION_BUNDLES = [
  'etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine
  'etc/ssl/cert.pem', // Alpine, when it is a file of its own
  'etc/pki/tls/certs/ca-bundle.crt', // Red Hat, Fedora
  'etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // Red Hat, Fedora (what the former links to)
  'etc/ssl/ca-bundle.pem', // SUSE
];

/** The path inside that the variables name. */
export const SANDBOX_CA_BUNDLE = '/etc/devbox/ca-certificates.crt';

/** The mounts that make the sandbox trust `hostFile`'s CAs too; `dir` is the sandbox's folder. */
export function caBundleMounts(dir: string, lowerDirs: readonly string[], hostFile: string): BindMount[] {
  let extra: string;
  try {
    extra = readFileSync(hostFile, 'utf8');
  } catch (error) {
    throw new DevboxError(`the caCertificates setting names ${hostFile}, which cannot be read (${describeError(error)})`, {
      fix: 'devbox config set caCertificates PATH (a PEM file), or devbox config unset caCertificates',
    });
  }
  const present = DISTRIBUTION_BUNDLES.filter((path) => imageHasFile(lowerDirs, path));
  const own = present.length ? readImageFile(lowerDirs, present[0]) : '';
  const bundle = join(dir, 'ca-certificates.crt');
  writeFileSync(bundle, `${own}${own && !own.endsWith('\n') ? '\n' : ''}${extra}`);
  const targets = present.length ? present : [DISTRIBUTION_BUNDLES[0]];
  return [
    ...targets.map((path) => ({ source: bundle, destination: `/${path}`, readonly: false })),
    { source: bundle, destination: SANDBOX_CA_BUNDLE, readonly: true },
  ];
}
