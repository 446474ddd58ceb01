/**
 * Resolving `--user`/USER against the image's /etc/passwd and /etc/group (read from its layers by
 * image-files.ts). Parsed here rather than with getpwnam inside the container: loading the image's NSS
 * modules is how CVE-2019-14271 happened.
 */
import { DevboxError } from '../util/errors.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    entries.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !/^\d+$/.test(f[2])) continue;
    entries.push({ name: f[0], gid: Number(f[2]), members: f[3].split(',').filter(Boolean) });
  }
  return entries;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
}

/**
 * Docker's rules: USER is `name|uid[:group|gid]`, '' when none is set; a name must exist in /etc/passwd, a
 * number need not (then gid 0 and HOME=/, /root for root); supplementary groups are the primary one and the
 * /etc/group memberships.
 */
export function resolveUser(spec: string, passwd: readonly PasswdEntry[], group: readonly GroupEntry[]): ResolvedUser {
  // No --user and no USER: uid 0, as Docker and podman run it, without needing an /etc/passwd (FROM scratch, distroless).
  if (spec === '') spec = '0';
  const [userPart, groupPart] = spec.split(':', 2);
  const numeric = /^\d+$/.test(userPart);
  const entry = numeric ? passwd.find((p) => p.uid === Number(userPart)) : passwd.find((p) => p.name === userPart);
  if (!entry && !numeric) {
    throw new DevboxError(`unable to find user ${userPart}: no matching entries in the image's /etc/passwd`, {
      fix: 'use a numeric uid or a user the image defines',
    });
  }
  const uid = numeric ? Number(userPart) : entry!.uid;
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = group.find((x) => x.name === groupPart);
      if (!g) throw new DevboxError(`unable to find group ${groupPart}: no matching entries in the image's /etc/group`);
      gid = g.gid;
    }
  }
  // As runc does: the primary group is also a supplementary one, followed by the /etc/group memberships.
  const memberships = entry && groupPart === undefined ? group.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : [];
  const groups = [gid, ...memberships];
  return { uid, gid, groups, home: entry?.home || (uid === 0 ? '/root' : '/') };
}
