import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { attachContainer } from '../container/attach.js';
import { findContainer } from '../container/lookup.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../container/options.js';
import { readSettings } from '../settings/settings.js';

export default class Attach extends DevboxCommand {
  static summary = "Attach this terminal to a running container's output and input (docker attach); the detach keys leave it running";
  static aliases = ['container:attach'];
  static examples = ['<%= config.bin %> attach web', '<%= config.bin %> attach --no-stdin web', '<%= config.bin %> attach --detach-keys ctrl-x box'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };
  static flags = {
    'no-stdin': Flags.boolean({ description: 'do not attach stdin' }),
    'sig-proxy': Flags.boolean({ description: 'pass the signals devbox gets on to the command (not with a terminal)', default: true, allowNo: true }),
    'detach-keys': Flags.string({ description: 'keys that detach from it (default ctrl-p,ctrl-q)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const detachKeys = parseDetachKeys(flags['detach-keys'] ?? DEFAULT_DETACH_KEYS);
    const container = findContainer(readSettings().storageRoot, args.container);
    const outcome = await attachContainer(container, { stdin: !flags['no-stdin'], sigProxy: flags['sig-proxy'], detachKeys });
    if ('exited' in outcome) process.exitCode = outcome.exited;
  }
}
