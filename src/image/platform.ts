/**
 * Platforms (`os/architecture[/variant]`) as `--platform` takes them, and choosing an image index entry for
 * one the way containerd's platform matcher does: os and architecture must be equal, a variant only when
 * one is asked for, and `arm64` means `arm64/v8`. Pure: used by archive loading and by pulls.
 */
import { DevboxError } from '../util/errors.js';
import { hostArchitecture, type Descriptor, type Platform } from './oci.js';

/** Architectures whose default variant an index may or may not spell out. */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8' };

/** Parses `linux/arm64/v8`, `linux/amd64`, or a bare `arm64` (os linux), as docker's --platform does. */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]] : parts;
  if (parts.length > 3 || !os || !architecture || parts.some((p) => !/^[a-z0-9._-]+$/.test(p))) {
    throw new DevboxError(`invalid platform "${text}"`, { fix: 'give os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8', kind: 'usage' });
  }
  return { os, architecture: normalizeArchitecture(architecture), ...(variant ? { variant } : {}) };
}

/** Common other names of architectures (uname and Node names) → the OCI names. */
function normalizeArchitecture(architecture: string): string {
  const aliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', i386: '386', armhf: 'arm', armel: 'arm' };
  return aliases[architecture] ?? architecture;
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

export function hostPlatform(): Platform {
  return { os: 'linux', architecture: hostArchitecture() };
}

function variantOf(platform: Platform): string | undefined {
  return platform.variant ?? DEFAULT_VARIANT[platform.architecture];
}

export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return wanted.variant === undefined || variantOf(candidate) === variantOf(wanted);
}

/**
 * The index entry for `wanted`: the first that matches (indexes list arm/v7 before arm/v6 by convention, so
 * without a variant the first is the usual choice). Entries without a platform never match.
 */
export function matchPlatform(manifests: readonly Descriptor[], wanted: Platform): Descriptor | undefined {
  return manifests.find((m) => m.platform && platformMatches(m.platform, wanted));
}

/** The platforms an index offers, for the message when none matched. */
export function offeredPlatforms(manifests: readonly Descriptor[]): string {
  const offered = [...new Set(manifests.filter((m) => m.platform && m.platform.architecture !== 'unknown').map((m) => formatPlatform(m.platform!)))];
  return offered.length ? offered.join(', ') : 'none';
}
