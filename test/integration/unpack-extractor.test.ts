/**
 * The helper's layer extractor (native/layer.c) run as devbox runs it: as root of a user namespace with the
 * caller's id map, confined to the layer's directory, the tar on stdin. The image suites cover it through
 * `devbox image import`/`load`/`pull`; these are the cases they do not reach: tricky orders of entries (after
 * containerd's TestBreakouts and umoci's scoping tests), what it reports, holes, long names, raw headers.
 * It runs the sanitizer build (make -C native sanitize, built by npm test), so a memory error or undefined
 * behaviour on any of these paths fails the suite.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { test } from '../helpers/test.js';
import * as assert from 'uvu/assert';
import { extractorCommand, parseExtractorOutput } from '../../src/image/unpack.js';
import { idMapArgs } from '../../src/runtime/helper.js';
import { execCapture } from '../../src/util/exec.js';
import { removeAsNamespaceRoot } from '../../src/storage/remove.js';
import { hostIdFor, resolveIdMapping } from '../../src/userns/idmap.js';
import { packTar, testDir, type TarEntry } from '../helpers/images.js';
import { eventually } from '../helpers/network.js';

const HELPER = fileURLToPath(new URL('../../../native/devbox-helper-sanitized', import.meta.url));
const { mapping } = resolveIdMapping();
const made: string[] = [];

test.after(async () => {
  await removeAsNamespaceRoot(mapping, made);
});

/** A fresh layer directory, maybe with something in it already (`prepare`). */
async function layerDir(prepare?: (dir: string) => void): Promise<string> {
  const dir = await testDir('layer');
  made.push(dir);
  prepare?.(dir);
  return dir;
}

/** What the extractor reports but the tar's digest and size. */
const found = ({ opaqueDirs, xattrs, skippedDevices }: ReturnType<typeof parseExtractorOutput>) => ({ opaqueDirs, xattrs, skippedDevices });

async function extract(entries: readonly TarEntry[] | Buffer, layer?: string, gunzip = false) {
  const dir = layer ?? (await layerDir());
  const input = Buffer.isBuffer(entries) ? entries : await packTar(entries);
  // As image/unpack.ts runs it (runtime/namespace.ts), with the sanitized helper.
  const args = [...idMapArgs(mapping), '--no-pivot', '--confine', dir, '--archive', '--', ...extractorCommand(mapping, gunzip)];
  const r = await execCapture(HELPER, args, { input, allowFailure: true });
  assert.not.match(r.stderr, /Sanitizer|runtime error:/, `sanitizer report:\n${r.stderr}`);
  return { dir, r };
}

async function extractOk(entries: readonly TarEntry[] | Buffer, layer?: string, gunzip = false) {
  const { dir, r } = await extract(entries, layer, gunzip);
  assert.is(r.exitCode, 0, r.stderr);
  return { dir, result: parseExtractorOutput(r.stdout) };
}

async function refused(entries: readonly TarEntry[] | Buffer, message: RegExp, gunzip = false): Promise<string> {
  const { dir, r } = await extract(entries, undefined, gunzip);
  assert.is(r.exitCode, 1, r.stdout);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, message);
  return dir;
}

/** A ustar header of `tar` with its type byte changed and its checksum made right again. */
function withType(tar: Buffer, type: string): Buffer {
  const out = Buffer.from(tar);
  out.write(type, 156, 'latin1');
  out.fill(0x20, 148, 156);
  const sum = out.subarray(0, 512).reduce((a, b) => a + b, 0);
  out.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return out;
}

const hostile: [string, TarEntry[], RegExp][] = [
  ['a name that climbs out', [{ name: './../x', content: 'x' }], /entry "\.\/\.\.\/x" escapes the layer directory/],
  [
    'a directory entry through a symlink',
    [
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/sub', type: 'directory', mode: 0o777 },
    ],
    /entry "up\/sub" passes through the symlink "up"/,
  ],
  [
    'a write through a symlink made by a hard link to a symlink',
    [
      { name: 's', type: 'symlink', linkname: '/' },
      { name: 'h', type: 'link', linkname: 's' },
      { name: 'h/x', content: 'x' },
    ],
    /entry "h\/x" passes through the symlink "h"/,
  ],
  [
    'a write through a file',
    [
      { name: 'f', content: 'x' },
      { name: 'f/x', content: 'x' },
    ],
    /entry "f\/x" passes through "f", which is not a directory/,
  ],
  [
    'a hard link that climbs out',
    [{ name: 'h', type: 'link', linkname: 'a/../../x' }],
    /hard link "h" points at "a\/\.\.\/\.\.\/x", which escapes the layer directory/,
  ],
  [
    'a hard link to what the layer does not have',
    [{ name: 'h', type: 'link', linkname: 'etc/passwd' }],
    /hard link "h" points at "etc\/passwd", which is not in the layer/,
  ],
  [
    'a hard link to a directory',
    [
      { name: 'd', type: 'directory' },
      { name: 'h', type: 'link', linkname: 'd' },
    ],
    /hard link "h" points at a directory/,
  ],
  ['a whiteout of nothing', [{ name: 'd/.wh.' }], /whiteout "d\/\.wh\." names no file in its directory/],
  ['a whiteout of the parent', [{ name: '.wh...' }], /whiteout "\.wh\.\.\." names no file in its directory/],
  ['a whiteout of ".."', [{ name: 'etc/.wh..' }], /whiteout "etc\/\.wh\.\." names no file in its directory/],
  ['an absolute name that climbs out', [{ name: '/../../x', content: 'x' }], /entry "\/\.\.\/\.\.\/x" escapes the layer directory/],
  [
    'a file through a symlink to /',
    [
      { name: 'root', type: 'symlink', linkname: '/' },
      { name: 'root/etc/pwned', content: 'x' },
    ],
    /entry "root\/etc\/pwned" passes through the symlink "root"/,
  ],
  [
    'a file through a chain of symlinks',
    [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: '..' },
      { name: 'a/pwned', content: 'x' },
    ],
    /entry "a\/pwned" passes through the symlink "a"/,
  ],
  [
    'a hard link through a symlink',
    [
      { name: 'l', type: 'symlink', linkname: '/' },
      { name: 'h', type: 'link', linkname: 'l/etc/passwd' },
    ],
    /hard link "h" points at "l\/etc\/passwd", which is not in the layer|passes through the symlink "l"/,
  ],
  ['a whiteout through a symlink', [{ name: 'l', type: 'symlink', linkname: '..' }, { name: 'l/.wh.x' }], /entry "l\/\.wh\.x" passes through the symlink "l"/],
  [
    'an opaque marker through a symlink',
    [{ name: 'l', type: 'symlink', linkname: '..' }, { name: 'l/.wh..wh..opq' }],
    /entry "l\/\.wh\.\.wh\.\.opq" passes through the symlink "l"/,
  ],
  [
    'a file below a FIFO',
    [
      { name: 'p', type: 'fifo' },
      { name: 'p/x', content: 'x' },
    ],
    /entry "p\/x" passes through "p", which is not a directory/,
  ],
  // A parent is checked once; these replace one that was checked, then write below it again.
  [
    'a directory replaced by a symlink, then a write below it',
    [
      { name: 'd', type: 'directory' },
      { name: 'd/a', content: 'x' },
      { name: 'd', type: 'symlink', linkname: '/' },
      { name: 'd/pwned', content: 'x' },
    ],
    /entry "d\/pwned" passes through the symlink "d"/,
  ],
  [
    'a parent made for an entry, replaced by a symlink, then a deeper write',
    [
      { name: 'p/q/a', content: 'x' },
      { name: 'p', type: 'symlink', linkname: '/' },
      { name: 'p/q/pwned', content: 'x' },
    ],
    /entry "p\/q\/pwned" passes through the symlink "p"/,
  ],
  [
    'a directory whited out, a symlink in its place, then a write below it',
    [{ name: 'd/a', content: 'x' }, { name: '.wh.d' }, { name: 'd', type: 'symlink', linkname: '/' }, { name: 'd/pwned', content: 'x' }],
    /entry "d\/pwned" passes through the symlink "d"/,
  ],
  [
    'a subdirectory replaced by a hard link to a symlink, then a write below it',
    [
      { name: 's', type: 'symlink', linkname: '/' },
      { name: 'd/e/a', content: 'x' },
      { name: 'd/e', type: 'link', linkname: 's' },
      { name: 'd/e/pwned', content: 'x' },
    ],
    /entry "d\/e\/pwned" passes through the symlink "d\/e"/,
  ],
  ['a GNU sparse file', [{ name: 's', content: 'x', pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0' } }], /entry "s" is a GNU sparse file/],
];

for (const [what, entries, message] of hostile) {
  test(`refuses ${what}, in one line naming the entry`, async () => {
    await refused(entries, message);
  });
}

test('an unknown entry type, text and a cut tar are refused with what they are', async () => {
  const tar = await packTar([{ name: 'odd', content: 'x' }]);
  await refused(withType(tar, 'V'), /entry "odd" has a tar entry type devbox cannot extract/);
  await refused(Buffer.from('not a tar at all\n'.repeat(64)), /not a tar archive \(invalid tar header\)/);
  await refused(tar.subarray(0, 700), /the tar archive is truncated/);
});

test('a directory replaced by a symlink in the same layer does not pass its mode to the link target (CVE-2021-32760)', async () => {
  const { dir } = await extractOk([
    { name: 'target', type: 'directory', mode: 0o700 },
    { name: 'd', type: 'directory', mode: 0o777 },
    { name: 'd/child', content: 'c' },
    { name: 'd', type: 'symlink', linkname: 'target' },
  ]);
  assert.is(statSync(join(dir, 'target')).mode & 0o7777, 0o700);
  assert.is(readlinkSync(join(dir, 'd')), 'target');
});

test('a directory replaced by a file takes its whiteouts, opaque marker and xattrs along; made again, it is empty', async () => {
  const { dir, result } = await extractOk([
    { name: 'd/.wh..wh..opq' },
    { name: 'd/.wh.gone' },
    { name: 'd/f', content: 'f', xattrs: { 'user.note': Buffer.from('n') } },
    { name: 'd', content: 'now a file' },
    { name: 'd', type: 'directory', mode: 0o745 }, // readable by others: the test user, when a subordinate id owns it
  ]);
  assert.equal(readdirSync(join(dir, 'd')), []);
  assert.is(statSync(join(dir, 'd')).mode & 0o7777, 0o745);
  assert.equal(found(result), { opaqueDirs: [], xattrs: [], skippedDevices: [] });
});

test('whiteouts: a later entry at the path wins; an earlier one is removed; opaque markers are reported, the root too', async () => {
  const { dir, result } = await extractOk([
    { name: '.wh..wh..opq' },
    { name: 'kept', content: 'old' },
    { name: '.wh.kept' },
    { name: '.wh.back' },
    { name: 'back', content: 'b' },
    { name: 'a/b/.wh..wh..opq' },
  ]);
  const kept = lstatSync(join(dir, 'kept'));
  assert.ok(kept.isCharacterDevice() && kept.rdev === 0, 'kept is not a whiteout');
  assert.is(readFileSync(join(dir, 'back'), 'utf8'), 'b');
  assert.equal(result.opaqueDirs.sort(), ['', 'a/b']);
});

test('a later entry replaces what is at its path: a symlink by a file or a directory, a FIFO by a file or a whiteout', async () => {
  const { dir } = await extractOk([
    { name: 'x', type: 'symlink', linkname: 'target' },
    { name: 'x', content: 'replaced' },
    { name: 'd', type: 'symlink', linkname: 'target' },
    { name: 'd', type: 'directory', mode: 0o705 },
    { name: 'target', type: 'directory', mode: 0o700 },
    { name: 's', type: 'symlink', linkname: 'target' },
    { name: 'h', type: 'link', linkname: 's' },
    { name: 'h', type: 'directory', mode: 0o777 },
    { name: 'p', type: 'fifo' },
    { name: 'p', content: 'file now' },
    { name: 'q', type: 'fifo' },
    { name: '.wh.q' },
  ]);
  assert.is(readFileSync(join(dir, 'x'), 'utf8'), 'replaced');
  assert.ok(lstatSync(join(dir, 'd')).isDirectory());
  assert.is(lstatSync(join(dir, 'd')).mode & 0o7777, 0o705);
  assert.is(readlinkSync(join(dir, 's')), 'target');
  assert.ok(lstatSync(join(dir, 'h')).isDirectory());
  assert.is(statSync(join(dir, 'target')).mode & 0o7777, 0o700, 'a mode went through a symlink');
  assert.is(readFileSync(join(dir, 'p'), 'utf8'), 'file now');
  const q = lstatSync(join(dir, 'q'));
  assert.ok(q.isCharacterDevice() && q.rdev === 0, 'q is not a whiteout');
});

test('a directory named again keeps its contents and takes the new mode; one replaced by a file and made again is made anew, its subdirectories too', async () => {
  const { dir } = await extractOk([
    { name: 'k', type: 'directory', mode: 0o700 },
    { name: 'k/f', content: 'kept' },
    { name: 'k', type: 'directory', mode: 0o751 },
    { name: 'a/b/old', content: '1' },
    { name: 'a/p', type: 'fifo' },
    { name: 'a', content: 'a file for a while' },
    { name: 'a', type: 'directory' },
    { name: 'a/b/new', content: '2' },
  ]);
  assert.is(readFileSync(join(dir, 'k/f'), 'utf8'), 'kept');
  assert.is(statSync(join(dir, 'k')).mode & 0o7777, 0o751);
  assert.equal(readdirSync(join(dir, 'a')), ['b']);
  assert.equal(readdirSync(join(dir, 'a/b')), ['new']);
});

test('the root entry of the layer changes nothing of its directory', async () => {
  const layer = await layerDir();
  const before = statSync(layer);
  const { dir } = await extractOk(
    [
      { name: './', type: 'directory', mode: 0o700 },
      { name: './f', content: 'x' },
    ],
    layer,
  );
  assert.is(statSync(dir).mode & 0o7777, before.mode & 0o7777);
  assert.is(readFileSync(join(dir, 'f'), 'utf8'), 'x');
});

test('a pre-existing symlink in the layer directory is replaced, never followed', async () => {
  const layer = await layerDir((d) => {
    writeFileSync(join(d, 'inner'), 'inner');
    symlinkSync('inner', join(d, 'f'));
    mkdirSync(join(d, 'real'));
    symlinkSync('real', join(d, 'd'));
  });
  await extractOk([{ name: 'f', content: 'new' }], layer);
  assert.is(readFileSync(join(layer, 'inner'), 'utf8'), 'inner');
  assert.ok(lstatSync(join(layer, 'f')).isFile());
  const { r } = await extract([{ name: 'd/x', content: 'x' }], layer);
  assert.match(r.stderr, /entry "d\/x" passes through the symlink "d"/);
  assert.equal(readdirSync(join(layer, 'real')), []);
});

test('owners through the id map, special modes, times (directories after their contents), hard links to symlinks and FIFOs', async () => {
  const { dir } = await extractOk([
    { name: 'home/alice', type: 'directory', uid: 1000, gid: 1000, mode: 0o711 },
    { name: 'home/alice/f', content: 'a', uid: 1000, gid: 1000 },
    { name: 'suid', content: 'x', mode: 0o4755 },
    { name: 'tmp', type: 'directory', mode: 0o1777 },
    { name: 'tmp/f', content: 'x' },
    { name: 'pipe', type: 'fifo', mode: 0o2620 },
    { name: 'pipe2', type: 'link', linkname: 'pipe' },
    { name: 'ln', type: 'symlink', linkname: '/abs/olute' },
    { name: 'ln2', type: 'link', linkname: 'ln' },
  ]);
  const alice = statSync(join(dir, 'home/alice/f'));
  assert.is(alice.uid, mapping.full ? hostIdFor(mapping.uidMap, 1000) : process.getuid!());
  assert.is(statSync(join(dir, 'suid')).mode & 0o7777, 0o4755);
  assert.is(statSync(join(dir, 'tmp')).mode & 0o7777, 0o1777);
  assert.is(statSync(join(dir, 'tmp')).mtimeMs, 1700000000000);
  assert.is(statSync(join(dir, 'home/alice')).mode & 0o7777, 0o711);
  assert.ok(lstatSync(join(dir, 'pipe2')).isFIFO());
  assert.is(lstatSync(join(dir, 'pipe')).mode & 0o7777, 0o2620);
  assert.is(lstatSync(join(dir, 'pipe')).ino, lstatSync(join(dir, 'pipe2')).ino);
  assert.is(readlinkSync(join(dir, 'ln2')), '/abs/olute');
  assert.is(lstatSync(join(dir, 'ln')).mtimeMs, 1700000000000);
});

test('holes: aligned zero blocks are not written, a trailing hole keeps the size; a short zero file is written', async () => {
  const big = Buffer.alloc(8 * 1024 * 1024 + 100);
  big.write('head', 0);
  big.write('mid', 4 * 1024 * 1024 + 1);
  const { dir } = await extractOk([
    { name: 'sparse', content: big },
    { name: 'trailing', content: Buffer.concat([Buffer.from('x'), Buffer.alloc(1024 * 1024 - 1)]) },
    { name: 'zeros', content: Buffer.alloc(100) },
  ]);
  const st = statSync(join(dir, 'sparse'));
  assert.ok(st.blocks * 512 <= 64 * 1024, `${st.blocks * 512} bytes allocated`);
  assert.ok(readFileSync(join(dir, 'sparse')).equals(big));
  assert.is(statSync(join(dir, 'trailing')).size, 1024 * 1024);
  assert.ok(readFileSync(join(dir, 'zeros')).equals(Buffer.alloc(100)));
});

test('xattrs from PAX headers: binary values set and reported byte for byte, reserved names dropped, devices reported', async () => {
  const binary = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x3d]);
  const { result } = await extractOk([
    { name: 'd', type: 'directory', xattrs: { 'user.dir': Buffer.from('D') } },
    { name: 'd/f', content: 'x', xattrs: { 'user.bin': binary, 'user.overlay.opaque': Buffer.from('y'), 'trusted.x': Buffer.from('t') } },
    { name: 'dev/null', type: 'character-device' },
  ]);
  assert.equal(
    result.xattrs.sort((a, b) => a.path.localeCompare(b.path)),
    [
      { path: 'd', name: 'user.dir', value: Buffer.from('D').toString('hex') },
      { path: 'd/f', name: 'user.bin', value: binary.toString('hex') },
    ],
  );
  assert.equal(result.skippedDevices, ['dev/null']);
});

test('long names and link targets (ustar prefix, PAX) arrive whole; one over 255 bytes is named, cut, in the error', async () => {
  const deep = `${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(60)}`;
  const target = `/${'t'.repeat(200)}/${'u'.repeat(200)}`;
  const { dir } = await extractOk([
    { name: deep, content: 'deep' },
    { name: 'l', type: 'symlink', linkname: target },
  ]);
  assert.is(readFileSync(join(dir, deep), 'utf8'), 'deep');
  assert.is(readlinkSync(join(dir, 'l')), target);
  await refused([{ name: `d/${'n'.repeat(300)}`, content: 'x' }], /entry "d\/n{77}…": a name in its path is longer than Linux allows \(255 bytes\)/);
});

test('the diffID is the SHA-256 of the whole tar, its padding included; with --gunzip, of the tar the gzip blob holds', async () => {
  const tar = Buffer.concat([await packTar([{ name: 'f', content: 'x'.repeat(70_000) }]), Buffer.alloc(10_240)]);
  const diffID = `sha256:${createHash('sha256').update(tar).digest('hex')}`;
  const plain = await extractOk(tar);
  assert.is(plain.result.diffID, diffID);
  assert.is(plain.result.size, tar.length);
  // Two gzip members (what concatenating gzip files makes), read as one stream as Go's and Node.js's readers do.
  const gz = Buffer.concat([gzipSync(tar.subarray(0, 30_000)), gzipSync(tar.subarray(30_000))]);
  const { dir, result } = await extractOk(gz, undefined, true);
  assert.equal([result.diffID, result.size], [diffID, tar.length]);
  assert.is(readFileSync(join(dir, 'f'), 'utf8'), 'x'.repeat(70_000));
});

test('--gunzip: corrupt, truncated and trailing non-gzip data are refused in one line', async () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}\n`).join('');
  const gz = gzipSync(await packTar([{ name: 'f', content: lines }]));
  const corrupt = Buffer.from(gz);
  corrupt.fill(0x55, 100, 400);
  await refused(corrupt, /^devbox-helper: corrupt gzip data \(.+\)$/m, true);
  await refused(gz.subarray(0, gz.length - 12), /^devbox-helper: truncated gzip data/m, true);
  await refused(Buffer.concat([gz, Buffer.from('trailing garbage')]), /^devbox-helper: corrupt gzip data \(incorrect header check\)$/m, true);
});

/** An empty-bodied ustar entry: tar-stream takes seconds for the tens of thousands the next test needs. */
function emptyEntry(name: string, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'latin1');
  header.write('0000755\0', 100, 'latin1');
  header.write('0000000\0', 108, 'latin1');
  header.write('0000000\0', 116, 'latin1');
  header.write('00000000000\0', 124, 'latin1');
  header.write('14524770400\0', 136, 'latin1');
  header.write(type, 156, 'latin1');
  header.write('ustar\x0000', 257, 'latin1');
  return withType(header, type); // the checksum
}

test('a layer that replaces a directory many times, beside many recorded paths, is extracted (each removal forgets only what it removes)', async () => {
  // 50,000 whiteouts recorded below w, then 5,000 times a directory d made and whited out: when each removal
  // scanned every recorded path, this took seconds of CPU per thousand removals.
  const entries: Buffer[] = [];
  for (let i = 0; i < 50_000; i++) entries.push(emptyEntry(`w/.wh.f${i}`, '0'));
  for (let i = 0; i < 5_000; i++) entries.push(emptyEntry('d', '5'), emptyEntry('.wh.d', '0'));
  entries.push(emptyEntry('w', '0'), Buffer.alloc(1024));
  const { dir, result } = await extractOk(Buffer.concat(entries));
  assert.equal(readdirSync(dir).sort(), ['d', 'w']);
  const d = lstatSync(join(dir, 'd'));
  assert.ok(d.isCharacterDevice() && d.rdev === 0, 'd is not a whiteout');
  assert.ok(lstatSync(join(dir, 'w')).isFile(), 'w is not the file that replaced the directory');
  assert.equal(found(result), { opaqueDirs: [], xattrs: [], skippedDevices: [] });
});

test('a directory named again after its removal is in the tree again: removing it once more forgets what is below it', async () => {
  const { dir } = await extractOk([
    { name: 'a/b/.wh.x' },
    { name: 'a', content: 'a file' },
    { name: 'a', type: 'directory' },
    { name: 'a/b/c', content: 'c' },
    { name: 'a/b/.wh.y' }, // would be made through the symlink below if a/b were not forgotten with a
    { name: 'a', type: 'symlink', linkname: 't' },
  ]);
  assert.equal(readdirSync(dir), ['a']);
  assert.is(readlinkSync(join(dir, 'a')), 't');
});

/** The processes whose parent is `ppid`, with their names (/proc/PID/stat: "PID (COMM) STATE PPID …"). */
function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(')');
    if (Number(stat.slice(close + 2).split(' ')[1]) === ppid) found.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return found;
}

test('the extractor works in the cell, whose only mount is the layer as its root, without CAP_SYS_ADMIN: it cannot mount its way out', async () => {
  const layer = await layerDir();
  const tar = await packTar([{ name: 'first', content: 'x' }]);
  const args = [...idMapArgs(mapping), '--no-pivot', '--confine', layer, '--archive', '--', ...extractorCommand(mapping)];
  const helper = spawn(HELPER, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  helper.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => helper.once('close', resolve));
  try {
    helper.stdin.write(tar.subarray(0, 1024)); // the first entry: header and data, no end of the archive yet
    // The namespace's process (the outer helper's child), once it wrote the entry: confined and reading on.
    const extractor = await eventually(
      'the extractor to write its first entry',
      () => (existsSync(join(layer, 'first')) ? childrenOf(helper.pid!).find((c) => c.comm.startsWith('devbox-helper')) : undefined),
      30_000,
    );
    const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${extractor.pid}/status`, 'utf8'))?.[1];
    assert.ok(capEff, 'no CapEff line');
    assert.is(BigInt(`0x${capEff}`) & (1n << 21n), 0n, 'CAP_SYS_ADMIN is effective');
    assert.is.not(BigInt(`0x${capEff}`) & (1n << 0n), 0n, 'CAP_CHOWN is not effective: the capability check above proves nothing');
    // mountinfo's fifth field is the mount point: the host's root was detached, the layer is "/".
    const mounts = readFileSync(`/proc/${extractor.pid}/mountinfo`, 'utf8').trim().split('\n');
    assert.equal(
      mounts.map((line) => line.split(' ')[4]),
      ['/'],
      mounts.join('\n'),
    );
  } finally {
    helper.stdin.end(tar.subarray(1024));
  }
  assert.is(await exited, 0, stderr);
});

test.run();
