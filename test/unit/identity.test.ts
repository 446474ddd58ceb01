import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { groupWithUser, imageAccount, passwdWithUser, type SandboxUser } from '../../src/sandbox/identity.js';
import type { IdMapping } from '../../src/userns/idmap.js';

const alice: SandboxUser = { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash' };

test('the user is added to the image passwd, replacing an entry with the same name or uid', () => {
  const image = 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nalice:x:1001:1001::/x:/bin/sh\n';
  assert.is(passwdWithUser(image, alice), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000:alice:/home/alice:/bin/bash\n');
  assert.is(passwdWithUser('', alice), 'alice:x:1000:1000:alice:/home/alice:/bin/bash\n');
});

test('a group is added only when the image has none with the gid', () => {
  assert.is(groupWithUser('root:x:0:\nstaff:x:1000:\n', alice), 'root:x:0:\nstaff:x:1000:\n');
  assert.is(groupWithUser('root:x:0:', alice), 'root:x:0:\nalice:x:1000:\n');
});

const IMAGE_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nvscode:x:1000:1000::/home/vscode:/bin/bash\n';
const IMAGE_GROUP = 'root:x:0:\nvscode:x:1000:\ndocker:x:999:vscode\n';
const request = { name: 'vscode', updateUid: true, where: 'remoteUser' };

test("remoteUser with a keep-id map takes the caller's uid and gid, keeping its mapped groups", () => {
  const keepId: IdMapping = {
    uidMap: [
      { inside: 0, outside: 100000, count: 1000 },
      { inside: 1000, outside: 1000, count: 1 },
      { inside: 1001, outside: 101000, count: 64535 },
    ],
    gidMap: [
      { inside: 0, outside: 100000, count: 1000 },
      { inside: 1000, outside: 1000, count: 1 },
      { inside: 1001, outside: 101000, count: 64535 },
    ],
    uid: 1000,
    gid: 1000,
    full: true,
  };
  const { user, passwd } = imageAccount(keepId, IMAGE_PASSWD, IMAGE_GROUP, request, '/bin/sh');
  assert.equal([user.uid, user.gid, user.groups], [1000, 1000, [1000, 999]]);
  assert.is(passwd, IMAGE_PASSWD);
});

test("remoteUser with the single-id map gets root's ids, even with updateRemoteUserUID false, and root keeps its entry", () => {
  const single: IdMapping = { uidMap: [{ inside: 0, outside: 1005, count: 1 }], gidMap: [{ inside: 0, outside: 1005, count: 1 }], uid: 0, gid: 0, full: false };
  for (const updateUid of [true, false]) {
    const { user, passwd } = imageAccount(single, IMAGE_PASSWD, IMAGE_GROUP, { ...request, updateUid }, '/bin/sh');
    assert.equal([user.name, user.uid, user.gid, user.groups, user.home], ['vscode', 0, 0, [], '/home/vscode']);
    assert.is(passwd, 'root:x:0:0:root:/root:/bin/sh\nvscode:x:0:0::/home/vscode:/bin/bash\n');
  }
});

test.run();
