import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { reportError } from '../../cli/report.js';
import { readSettings } from '../../settings/settings.js';
import { volumeUsers } from '../../sandbox/volumes.js';
import { resolveIdMapping } from '../../userns/idmap.js';
import { findVolume, removeVolumes } from '../../volume/volume-store.js';

export default class VolumeRm extends DevboxCommand {
  static summary = 'Remove volumes (docker volume rm); one that a container uses is refused';
  static aliases = ['volume:remove'];
  static strict = false;
  static examples = ['<%= config.bin %> volume rm pgdata', '<%= config.bin %> volume rm $(<%= config.bin %> volume ls -q --filter dangling=true)'];
  static args = { volume: Args.string({ description: 'volume name (one or more)', required: true }) };
  static flags = { force: Flags.boolean({ char: 'f', description: 'no error for a volume that does not exist' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VolumeRm);
    const storeRoot = readSettings().storageRoot;
    const users = volumeUsers(storeRoot);
    const { mapping } = resolveIdMapping();
    // As Docker: each volume on its own, an error for one does not keep the others.
    for (const name of argv as string[]) {
      if (flags.force && !findVolume(storeRoot, name)) continue;
      try {
        await removeVolumes(storeRoot, mapping, [name], users);
        this.log(name);
      } catch (error) {
        process.exitCode = reportError(error);
      }
    }
  }
}
