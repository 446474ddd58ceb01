/**
 * `devbox exec` without oclif (bin/devbox comes here directly: joining a container is a hot path, as entering a
 * project is). docker exec's options come before the container; everything after it is the command.
 * `devbox exec --help` goes through oclif (src/commands/exec.ts).
 */
import type { ExecOptions } from '../container/exec.js';
import { DevboxError } from '../util/errors.js';
import { reportError } from './report.js';

export const EXEC_USAGE = 'devbox exec [-i] [-t] [-d] [-u USER[:GROUP]] [-w DIR] [-e K=V] [--env-file FILE] CONTAINER CMD [ARG...]';

function usage(message: string): DevboxError {
  return new DevboxError(message, { fix: EXEC_USAGE, kind: 'usage' });
}

export interface ParsedExec {
  options: ExecOptions & { userSpec?: string };
  container: string;
  command: string[];
}

export function parseExecArgs(argv: readonly string[]): ParsedExec {
  const options: ParsedExec['options'] = { interactive: false, tty: false, detach: false, env: [], envFiles: [] };
  const setUser = (v: string) => {
    options.userSpec = v;
  };
  const setWorkdir = (v: string) => {
    options.workdir = v;
  };
  const addEnv = (v: string) => options.env.push(v);
  const valued: Record<string, (v: string) => void> = {
    u: setUser,
    user: setUser,
    w: setWorkdir,
    workdir: setWorkdir,
    e: addEnv,
    env: addEnv,
    'env-file': (v) => options.envFiles.push(v),
    'detach-keys': () => {},
  };
  const interactive = () => {
    options.interactive = true;
  };
  const tty = () => {
    options.tty = true;
  };
  const detach = () => {
    options.detach = true;
  };
  const flags: Record<string, () => void> = { i: interactive, interactive, t: tty, tty, d: detach, detach };
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-') && argv[i] !== '-'; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (flags[name]) flags[name]();
      else if (valued[name]) valued[name](inline ?? argv[++i] ?? '');
      else throw usage(`unknown option --${name}`);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      const c = arg[j];
      if (flags[c]) flags[c]();
      else if (valued[c]) {
        valued[c](arg.slice(j + 1) || argv[++i] || '');
        break;
      } else throw usage(`unknown option -${c}`);
    }
  }
  if (i >= argv.length) throw usage('"devbox exec" requires a CONTAINER and a command');
  if (options.workdir !== undefined && !options.workdir.startsWith('/')) throw usage(`-w: the working directory "${options.workdir}" must be an absolute path`);
  return { options, container: argv[i], command: argv.slice(i + 1) };
}

/**
 * -u as docker takes it: numbers pass as they are; names are looked up in the container's /etc/passwd and
 * /etc/group as they are now (an account its processes added counts), inside its layers, never on the host.
 */
async function resolveExecUser(container: string, spec: string): Promise<ExecOptions['user']> {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? 0), groups: [] };
  const [{ findContainer }, { currentLayerDirs }, { ImageStore }, passwd, { readImageFile }, { readSettings }, { supplementaryGroups }] = await Promise.all([
    import('../container/lookup.js'),
    import('../container/records.js'),
    import('../image/store.js'),
    import('../image/passwd.js'),
    import('../image/image-files.js'),
    import('../settings/settings.js'),
    import('../userns/idmap.js'),
  ]);
  const c = findContainer(readSettings().storageRoot, container);
  const store = ImageStore.open();
  const layers = currentLayerDirs(c.config, c.dir, await store.layerDirs(await store.resolve(c.config.image), c.config.idMapping));
  const user = passwd.resolveUser(spec, passwd.parsePasswd(readImageFile(layers, 'etc/passwd')), passwd.parseGroup(readImageFile(layers, 'etc/group')));
  return { uid: user.uid, gid: user.gid, groups: supplementaryGroups(c.config.idMapping, user.groups) };
}

export async function execMain(argv: readonly string[]): Promise<number> {
  try {
    const { options, container, command } = parseExecArgs(argv);
    if (options.userSpec !== undefined) options.user = await resolveExecUser(container, options.userSpec);
    const { execInContainer } = await import('../container/exec.js');
    return await execInContainer(container, command, options);
  } catch (error) {
    return reportError(error);
  }
}
