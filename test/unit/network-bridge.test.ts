import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { answer, readQuestion } from '../../src/network/dns-server.js';
import { resolveNetworkOptions } from '../../src/network/options.js';
import { defaultSettings } from '../../src/settings/settings.js';
import { nestIdMap } from '../../src/userns/idmap.js';
import type { DevboxError } from '../../src/util/errors.js';
import { thrownBy } from '../helpers/errors.js';

const settings = defaultSettings();
const refusal = (fn: () => unknown) => (thrownBy(fn) as DevboxError).toLine();

test('a nested id map says the same host ids in the outer namespace’s ids, split where the outer map splits', () => {
  const keepId = [
    { inside: 0, outside: 100000, count: 1000 },
    { inside: 1000, outside: 1000, count: 1 },
    { inside: 1001, outside: 101000, count: 64535 },
  ];
  // The same map inside: the identity of every range.
  assert.equal(nestIdMap(keepId, keepId), [
    { inside: 0, outside: 0, count: 1000 },
    { inside: 1000, outside: 1000, count: 1 },
    { inside: 1001, outside: 1001, count: 64535 },
  ]);
  // Container root as the user (0 → 1000) inside a keep-id namespace.
  assert.equal(
    nestIdMap(keepId, [
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 100000, count: 2000 },
    ]),
    [
      { inside: 0, outside: 1000, count: 1 },
      { inside: 1, outside: 0, count: 1000 },
      { inside: 1001, outside: 1001, count: 1000 },
    ],
  );
  assert.is(nestIdMap(keepId, [{ inside: 0, outside: 5, count: 1 }]), undefined);
});

/** A query as a resolver sends it: id, RD, one question. */
function query(name: string, type = 1): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const question = Buffer.concat([...labels, Buffer.from([0, 0, type, 0, 1])]);
  return Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), question]);
}

test("the network's resolver reads the question and answers A records with the query's id", () => {
  const q = query('DB.example');
  const question = readQuestion(q)!;
  assert.equal({ name: question.name, type: question.type, class: question.class }, { name: 'db.example', type: 1, class: 1 });
  const reply = answer(q, question, ['10.89.0.2', '10.89.0.3']);
  assert.is(reply.readUInt16BE(0), 0x1234);
  assert.is(reply.readUInt16BE(2) & 0x8000, 0x8000, 'a response');
  assert.is(reply.readUInt16BE(2) & 0x0100, 0x0100, 'RD kept');
  assert.is(reply.readUInt16BE(6), 2);
  assert.equal([...reply.subarray(reply.length - 4)], [10, 89, 0, 3]);
  assert.is(answer(q, question, [], 5).readUInt16BE(2) & 0xf, 5);
  assert.is(readQuestion(q.subarray(0, 14)), undefined, 'a cut question');
  assert.is(readQuestion(Buffer.from([1, 2, 3])), undefined);
});

test('on a --ipv6 network the resolver answers AAAA records with the 16 bytes of the address', () => {
  const q = query('db', 28);
  const reply = answer(q, readQuestion(q)!, ['fd12:3456:789a::2']);
  assert.is(reply.readUInt16BE(6), 1);
  const record = reply.subarray(reply.length - 28);
  assert.is(record.readUInt16BE(2), 28, 'type AAAA');
  assert.is(record.readUInt16BE(10), 16, 'rdlength');
  assert.equal([...record.subarray(12)], [0xfd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
});

test('--network NAME joins a devbox network, container:NAME shares one; aliases and -p are checked', () => {
  assert.equal(resolveNetworkOptions({ network: 'backend', networkAliases: ['db'] }, settings), {
    mode: 'none',
    publish: [],
    autoForward: false,
    allowHostLoopback: false,
    networks: [{ name: 'backend', aliases: ['db'] }],
  });
  assert.is(resolveNetworkOptions({ network: 'container:web' }, settings).shareWith, 'web');
  assert.match(
    refusal(() => resolveNetworkOptions({ networkAliases: ['db'] }, settings)),
    /--network-alias needs --network NAME/,
  );
  assert.match(
    refusal(() => resolveNetworkOptions({ network: 'container:' }, settings)),
    /needs a container name/,
  );
  assert.match(
    refusal(() => resolveNetworkOptions({ network: 'bad name' }, settings)),
    /invalid network name "bad name"/,
  );
  assert.match(
    refusal(() => resolveNetworkOptions({ network: 'container:web', publish: ['8080:80'] }, settings)),
    /cannot publish ports with --network container:/,
  );
  assert.is(resolveNetworkOptions({ network: 'slirp4netns' }, settings).mode, 'slirp4netns');
});

test.run();
