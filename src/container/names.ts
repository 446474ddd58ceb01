/**
 * Container names, unique in a store as Docker's are. A name is reserved by a symlink
 * container-names/<name> → <id>, created atomically (symlink(2) fails with EEXIST when it is taken), so two
 * commands creating or renaming at once cannot both get a name, and finding a container by name reads one
 * link instead of every container's config. The container's config.json holds its name; a link whose
 * container is gone or is called otherwise (a rename or rm that died halfway) is stale and taken over.
 */
import { randomIndex } from '../util/random.js';
import { existsSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DevboxError } from '../util/errors.js';
import { containerDir, readRecord, shortId } from './records.js';

/** Docker's rule for names. */
const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function namesDir(storeRoot: string): string {
  return join(storeRoot, 'container-names');
}

/** A name as given (docker accepts a leading "/"), checked. */
export function validateName(name: string): string {
  const bare = name.startsWith('/') ? name.slice(1) : name;
  if (!VALID_NAME.test(bare) || bare.length > 253) {
    throw new DevboxError(`invalid container name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, { kind: 'usage' });
  }
  return bare;
}

/** The id of the container called `name`, or undefined; a stale link is not a container. */
export function idForName(storeRoot: string, name: string): string | undefined {
  let id: string;
  try {
    id = readlinkSync(join(namesDir(storeRoot), name));
  } catch {
    return undefined;
  }
  const config = readRecord(containerDir(storeRoot, id));
  return config?.name === name ? id : undefined;
}

function nameInUse(name: string, id: string): DevboxError {
  return new DevboxError(`the container name "${name}" is already in use by container ${shortId(id)}`, {
    fix: 'remove or rename that container, or choose another name',
  });
}

/**
 * Reserves `name` for the container `id`: throws when another container has it. A link left by a container
 * that was never finished or is gone is replaced; one the container `id` already has is kept.
 */
export function reserveName(storeRoot: string, name: string, id: string): void {
  const dir = namesDir(storeRoot);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const link = join(dir, name);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      symlinkSync(id, link);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: string;
    try {
      holder = readlinkSync(link);
    } catch {
      continue; // released meanwhile
    }
    if (holder === id) return;
    const config = readRecord(containerDir(storeRoot, holder));
    // Being created: its directory exists, its config is not written yet. It keeps the name.
    if (config?.name === name || (!config && existsSync(containerDir(storeRoot, holder)))) throw nameInUse(name, holder);
    releaseName(storeRoot, name, holder);
  }
  throw nameInUse(name, readlinkSync(link));
}

/** Frees `name` if the container `id` holds it. */
export function releaseName(storeRoot: string, name: string, id: string): void {
  const link = join(namesDir(storeRoot), name);
  try {
    if (readlinkSync(link) === id) rmSync(link, { force: true });
  } catch {
    // not reserved
  }
}

const ADJECTIVES = (
  'amber bold brave brisk calm clever cosmic crisp daring eager fancy gentle glad golden happy hardy humble jolly ' +
  'keen kind lively lucky merry mellow misty nimble noble patient plucky proud quick quiet rapid ruby rustic ' +
  'shiny silent sleepy snowy spry steady sunny swift tidy upbeat vivid witty zesty'
).split(' ');
const NOUNS = (
  'alder badger beacon birch bison cedar comet condor coral crane delta ember falcon fern finch fjord gecko ' +
  'glacier harbor heron ibis island jaguar kestrel lagoon lark lynx maple meadow mesa nebula orca otter panda ' +
  'pebble pine prairie quasar raven reef river sparrow summit tundra walrus willow wren yak'
).split(' ');

/** Reserves a generated name like Docker's ("brave_otter"), with digits appended once pairs keep being taken. */
export function reserveGeneratedName(storeRoot: string, id: string): string {
  for (let attempt = 0; ; attempt++) {
    const base = `${ADJECTIVES[randomIndex(ADJECTIVES.length)]}_${NOUNS[randomIndex(NOUNS.length)]}`;
    const name = attempt < 10 ? base : `${base}${randomIndex(10_000)}`;
    try {
      reserveName(storeRoot, name, id);
      return name;
    } catch (error) {
      if (!(error instanceof DevboxError) || attempt > 100) throw error;
    }
  }
}
