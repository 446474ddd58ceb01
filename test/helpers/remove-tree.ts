/** `node remove-tree.js DIR`: removes a test tree whose store files belong to subordinate ids. */
import { rm } from 'node:fs/promises';
import { resolveIdMapping } from '../../src/userns/idmap.js';
import { removeAsNamespaceRoot } from '../../src/storage/remove.js';

const dir = process.argv[2];
await removeAsNamespaceRoot(resolveIdMapping().mapping, [dir]);
await rm(dir, { recursive: true, force: true });
