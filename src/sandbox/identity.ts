/**
 * Who enters a project's sandbox. By default the invoking user: same name, uid (the keep-id map makes it the
 * same id), primary group and home path as outside; the image's /etc/passwd and /etc/group get an entry for
 * them, as podman's --userns=keep-id adds one, so `id`, `whoami` and `~` work as on the host. Or an account of
 * the image (Dev Containers' remoteUser) whose uid and gid become the invoking user's, as Dev Containers'
 * updateRemoteUserUID does on Linux, so the repo and the account's home are both theirs.
 */
import { userInfo } from 'node:os';
import { hostIdFor, supplementaryGroups, type IdMapping } from '../userns/idmap.js';
import { parseGroup, parsePasswd } from '../image/passwd.js';
import { DevboxError } from '../util/errors.js';

export interface SandboxUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  /** Supplementary groups (an image account's /etc/group memberships); absent: none. */
  groups?: number[];
  /** An image account whose ids were changed to the invoking user's: the ids its files still have. */
  updatedFrom?: { uid: number; gid: number };
}

/** An image account to enter as (Dev Containers' remoteUser or containerUser). */
export interface AccountRequest {
  /** A name, or a uid, as USER takes it. */
  name: string;
  /** Give the account the invoking user's uid and gid (updateRemoteUserUID). */
  updateUid: boolean;
  /** Where the name comes from, for the message when the image has no such account. */
  where: string;
}

/** The image's /etc/passwd and /etc/group as the sandbox gets them, and who enters. */
export interface SandboxAccounts {
  user: SandboxUser;
  passwd: string;
  group: string;
}

function passwdFields(line: string): string[] | undefined {
  const fields = line.split(':');
  return fields.length >= 7 && /^\d+$/.test(fields[2]) && /^\d+$/.test(fields[3]) ? fields : undefined;
}

/**
 * An image account in the invoking user's place. With `updateUid` its uid becomes the caller's (an entry
 * that already had that uid gives way, as for the invoking user), and its primary group's gid the caller's
 * gid unless another group has that gid (then the group stays, as Dev Containers does).
 */
export function imageAccount(mapping: IdMapping, imagePasswd: string, imageGroup: string, request: AccountRequest, defaultShell: string): SandboxAccounts {
  const lines = imagePasswd.split('\n').filter((line, i, all) => !(line === '' && i === all.length - 1));
  const numeric = /^\d+$/.test(request.name);
  const index = lines.findIndex((line) => {
    const fields = passwdFields(line);
    return fields !== undefined && (numeric ? fields[2] === request.name : fields[0] === request.name);
  });
  if (index < 0) {
    throw new DevboxError(`${request.where} names the user "${request.name}", which the image's /etc/passwd does not have`, {
      fix: 'name an account of the image, or remove the setting to enter as yourself',
    });
  }
  const fields = passwdFields(lines[index])!;
  const [name, uid, gid] = [fields[0], Number(fields[2]), Number(fields[3])];
  const groups = parseGroup(imageGroup);
  // The single-id map holds root alone: the account gets root's ids whatever updateUid says (its files are
  // root's as well, since layers are unpacked squashed for that map), and root keeps its own entry.
  const single = !mapping.full;
  const newUid = single || request.updateUid ? mapping.uid : uid;
  const gidTaken = groups.some((g) => g.gid === mapping.gid && g.gid !== gid);
  const newGid = single || (request.updateUid && !gidTaken) ? mapping.gid : gid;
  const shell = fields[6] || defaultShell;
  const entry = [name, fields[1], String(newUid), String(newGid), fields[4], fields[5], shell].join(':');
  const passwd: string[] = [];
  for (const [i, line] of lines.entries()) {
    if (i === index) passwd.push(entry);
    else if (newUid === uid || single || passwdFields(line)?.[2] !== String(newUid)) passwd.push(line);
  }
  const group =
    newGid === gid
      ? imageGroup
      : imageGroup
          .split('\n')
          .map((line) => {
            const f = line.split(':');
            return f.length >= 4 && f[2] === String(gid) ? [f[0], f[1], String(newGid), ...f.slice(3)].join(':') : line;
          })
          .join('\n');
  // Memberships in groups the user namespace does not map cannot be given (setgroups would fail).
  const supplementary = parseGroup(group)
    .filter((g) => g.members.includes(name) && g.gid !== newGid && hostIdFor(mapping.gidMap, g.gid) !== undefined)
    .map((g) => g.gid);
  const user: SandboxUser = {
    name,
    uid: newUid,
    gid: newGid,
    home: fields[5] || '/',
    shell,
    groups: supplementaryGroups(mapping, [newGid, ...supplementary]),
    ...(newUid !== uid || newGid !== gid ? { updatedFrom: { uid, gid } } : {}),
  };
  return { user, passwd: `${passwd.join('\n')}\n`, group };
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
