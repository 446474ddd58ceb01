import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { attachContainer } from '../container/attach.js';
import { findContainer, isRunning } from '../container/lookup.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../container/options.js';
import { readSettings } from '../settings/settings.js';
import { DevboxError } from '../util/errors.js';

export default class Attach extends DevboxCommand {
  static summary = "Attach this terminal to a running container's command (docker attach)";
  static description =
    'Its output from now on, and your input when it was started with -i; the detach keys (ctrl-p,ctrl-q) leave ' +
    'it running. Exits with the command when it ends.';
  static aliases = ['container:attach'];
  static examples = ['<%= config.bin %> attach web', '<%= config.bin %> attach --no-stdin --no-sig-proxy web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };
  static flags = {
    'no-stdin': Flags.boolean({ description: 'do not attach stdin' }),
    'detach-keys': Flags.string({ description: `keys that detach (default ${DEFAULT_DETACH_KEYS})` }),
    'sig-proxy': Flags.boolean({ description: 'pass SIGINT and SIGTERM on to the command (not on a terminal)', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const detachKeys = parseDetachKeys(flags['detach-keys'] ?? DEFAULT_DETACH_KEYS);
    const container = findContainer(readSettings().storageRoot, args.container);
    if (!isRunning(container))
      throw new DevboxError(`cannot attach to container ${args.container}: it is not running`, { fix: `devbox start -a ${args.container}` });
    process.exitCode = await attachContainer(container, { stdin: !flags['no-stdin'], detachKeys, sigProxy: flags['sig-proxy'] });
  }
}
