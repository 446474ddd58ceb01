/**
 * The invoking user inside a project's sandbox: same name, uid (the keep-id map makes it the same id),
 * primary group and home path as outside. The image's /etc/passwd and /etc/group get an entry for them, as
 * podman's --userns=keep-id adds one, so `id`, `whoami` and `~` work as on the host.
 */
import { userInfo } from 'node:os';
import type { IdMapping } from '../userns/idmap.js';
import { parseGroup, parsePasswd } from '../image/passwd.js';

export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The caller as the sandbox sees them: container root when only a single-id map is available. */
export function invokingUser(mapping: IdMapping, shell: string): SandboxUser {
  const info = userInfo();
  return { name: mapping.full ? info.username : 'root', uid: mapping.uid, gid: mapping.gid, home: info.homedir, shell };
}

/** The image's /etc/passwd with the user's entry in place of any with the same name or uid. */
export function passwdWithUser(imagePasswd: string, user: SandboxUser): string {
  const kept = imagePasswd.split('\n').filter((line, i, all) => {
    if (line === '' && i === all.length - 1) return false;
    const [entry] = parsePasswd(line);
    return !entry || (entry.name !== user.name && entry.uid !== user.uid);
  });
  return [...kept, `${user.name}:x:${user.uid}:${user.gid}:${user.name}:${user.home}:${user.shell}`, ''].join('\n');
}

/** The image's /etc/group with the user's primary group added when the image has no group with that gid. */
export function groupWithUser(imageGroup: string, user: SandboxUser): string {
  if (parseGroup(imageGroup).some((g) => g.gid === user.gid)) return imageGroup;
  const text = imageGroup === '' || imageGroup.endsWith('\n') ? imageGroup : `${imageGroup}\n`;
  return `${text}${user.name}:x:${user.gid}:\n`;
}
