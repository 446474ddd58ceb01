import { randomHex } from '../../util/random.js';
import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { readSettings } from '../../settings/settings.js';
import { DevboxError } from '../../util/errors.js';
import { createVolume } from '../../volume/volume-store.js';

export default class VolumeCreate extends DevboxCommand {
  static summary = 'Create a volume (docker volume create); an existing one is given back as it is';
  static description = 'Without a name, the volume gets a random one. Containers mount it with -v NAME:/path or --mount source=NAME,target=/path.';
  static examples = ['<%= config.bin %> volume create pgdata', '<%= config.bin %> volume create --label team=web cache'];
  static args = { name: Args.string({ description: 'volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)' }) };
  static flags = {
    driver: Flags.string({ char: 'd', description: 'volume driver (only "local")', default: 'local' }),
    label: Flags.string({ description: 'set a label, KEY=VALUE (repeatable)', multiple: true, multipleNonGreedy: true }),
    opt: Flags.string({ char: 'o', description: 'driver options (the local driver of a rootless devbox takes none)', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(VolumeCreate);
    if (flags.driver !== 'local')
      throw new DevboxError(`volume driver "${flags.driver}" is not available: devbox has the local driver only`, { kind: 'usage' });
    if (flags.opt?.length) {
      throw new DevboxError(`devbox's local volumes take no driver options (-o ${flags.opt[0]}): mounting tmpfs or NFS volumes needs root`, {
        fix: 'for a tmpfs use --tmpfs or --mount type=tmpfs on the container',
        kind: 'usage',
      });
    }
    const labels: Record<string, string> = {};
    for (const label of flags.label ?? []) {
      const eq = label.indexOf('=');
      labels[eq < 0 ? label : label.slice(0, eq)] = eq < 0 ? '' : label.slice(eq + 1);
    }
    const { volume } = createVolume(readSettings().storageRoot, { name: args.name ?? randomName(), labels });
    this.log(volume.name);
  }
}

/** A named volume made without a name gets 64 hex digits, as Docker's; unlike an anonymous one it is kept by `prune`. */
function randomName(): string {
  return randomHex(32);
}
