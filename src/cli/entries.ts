/**
 * The commands bin/devbox runs without oclif, and every spelling of each: the one table that bin/devbox
 * dispatches with, scripts/bundle-hot.mjs bundles from, and the oclif classes take their aliases from (their
 * help, and `devbox help COMMAND`, stay oclif's). Data only: bin/devbox imports this module before anything
 * else, so it imports nothing.
 */

export interface Entry {
  /** Its spellings, words separated by spaces; `container inspect` also answers to oclif's `container:inspect`. */
  spellings: readonly string[];
  /** Its esbuild bundle, dist/bundle/NAME.cjs; without one, `module` unbundled. */
  bundle?: string;
  /** The tsc module under dist/src/cli that exports `main` (and that `bundle`, if any, is built from). */
  module: string;
  /** The exported function called with the arguments after the spelling (and `extra`); it returns the exit status. */
  main: string;
  extra?: readonly (string | boolean)[];
  /** Its options end at the first operand: what follows is a command to run, whose own --help is not devbox's. */
  optionsFirst?: true;
}

export const ENTRIES: readonly Entry[] = [
  { spellings: ['run'], bundle: 'run', module: 'run-main', main: 'runMain', optionsFirst: true },
  { spellings: ['container run'], bundle: 'run', module: 'run-main', main: 'runMain', extra: [false], optionsFirst: true },
  { spellings: ['shell'], bundle: 'project', module: 'project-main', main: 'projectMain', extra: ['shell'], optionsFirst: true },
  { spellings: ['exec', 'container exec'], bundle: 'exec', module: 'exec-main', main: 'execMain', optionsFirst: true },
  { spellings: ['build'], module: 'build-main', main: 'buildMain', optionsFirst: true },
  { spellings: ['ps', 'container ls', 'container list', 'container ps'], bundle: 'ps', module: 'ps-main', main: 'psMain' },
  { spellings: ['pull', 'image pull'], bundle: 'pull', module: 'pull-main', main: 'pullMain' },
  { spellings: ['images', 'image ls', 'image list'], bundle: 'images', module: 'images-main', main: 'imagesMain' },
  { spellings: ['inspect', 'container inspect'], bundle: 'inspect', module: 'inspect-main', main: 'inspectMain' },
  { spellings: ['image inspect'], bundle: 'inspect', module: 'inspect-main', main: 'inspectMain', extra: [true] },
  { spellings: ['logs', 'container logs'], bundle: 'logs', module: 'logs-main', main: 'logsMain' },
  { spellings: ['start', 'container start'], bundle: 'start', module: 'start-main', main: 'startMain' },
  { spellings: ['stop', 'container stop'], bundle: 'lifecycle', module: 'lifecycle-main', main: 'stopMain' },
  { spellings: ['rm', 'container rm'], bundle: 'lifecycle', module: 'lifecycle-main', main: 'rmMain' },
  { spellings: ['volume ls', 'volume list'], bundle: 'volume-ls', module: 'volume-ls-main', main: 'volumeLsMain' },
  { spellings: ['network ls', 'network list'], bundle: 'network-ls', module: 'network-ls-main', main: 'networkLsMain' },
  { spellings: ['info', 'system info'], bundle: 'info', module: 'info-main', main: 'infoMain' },
  { spellings: ['version'], bundle: 'version', module: 'version-main', main: 'versionMain' },
  { spellings: ['--version'], bundle: 'version', module: 'version-main', main: 'versionLine' },
];

/** The entry `argv` starts with, and how many of its words the spelling took; help is oclif's. */
export function findEntry(argv: readonly string[]): { entry: Entry; words: number } | undefined {
  for (const entry of ENTRIES) {
    for (const spelling of entry.spellings) {
      const words = spelling.split(' ');
      if (words.every((w, i) => argv[i] === w)) return { entry, words: words.length };
      if (words.length > 1 && argv[0] === words.join(':')) return { entry, words: 1 };
    }
  }
  return undefined;
}

/** An oclif command's aliases: the spellings of its entry other than its own id (`container ls` → `container:ls`). */
export function oclifAliases(id: string): string[] {
  const entry = ENTRIES.find((e) => e.spellings.map((s) => s.replaceAll(' ', ':')).includes(id));
  if (!entry) throw new Error(`no entry spells ${id}`);
  return entry.spellings.map((s) => s.replaceAll(' ', ':')).filter((s) => s !== id);
}
