import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { promptLine } from '../../cli/prompt.js';
import { readSettings } from '../../settings/settings.js';
import { pruneVolumes } from '../../sandbox/volumes.js';
import { resolveIdMapping } from '../../userns/idmap.js';
import { formatSize } from '../../util/format.js';

export default class VolumePrune extends DevboxCommand {
  static summary = 'Remove the volumes no container uses: anonymous ones, with --all named ones too (docker volume prune)';
  static examples = ['<%= config.bin %> volume prune -f', '<%= config.bin %> volume prune -af --filter label=scratch'];
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'named volumes too, not only anonymous ones' }),
    force: Flags.boolean({ char: 'f', description: 'do not ask for confirmation' }),
    filter: Flags.string({ description: 'only volumes that match: label=KEY[=VALUE], name=TEXT (repeatable)', multiple: true, multipleNonGreedy: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(VolumePrune);
    if (!flags.force && process.stdin.isTTY) {
      const what = flags.all ? 'all local volumes' : 'anonymous local volumes';
      const answer = await promptLine(`WARNING! This will remove ${what} not used by at least one container.\nAre you sure you want to continue? [y/N] `);
      if (!/^y(es)?$/i.test(answer)) return;
    }
    const result = await pruneVolumes(readSettings().storageRoot, resolveIdMapping().mapping, { all: flags.all, filters: flags.filter ?? [] });
    if (result.deleted.length) {
      this.log('Deleted Volumes:');
      for (const name of result.deleted) this.log(name);
      this.log('');
    }
    this.log(`Total reclaimed space: ${formatSize(result.reclaimed)}`);
  }
}
