import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { groupWithUser, passwdWithUser, type SandboxUser } from '../../src/sandbox/identity.js';

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

test.run();
