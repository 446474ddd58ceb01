import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { readSettings } from '../../settings/settings.js';
import { inspectShape } from '../../sandbox/volumes.js';
import { renderTemplate } from '../../util/go-template.js';
import { getVolume } from '../../volume/volume-store.js';

export default class VolumeInspect extends DevboxCommand {
  static summary = "Show volumes as JSON, in Docker's shape (docker volume inspect)";
  static strict = false;
  static examples = ['<%= config.bin %> volume inspect pgdata', '<%= config.bin %> volume inspect -f "{{.Mountpoint}}" pgdata'];
  static args = { volume: Args.string({ description: 'volume name (one or more)', required: true }) };
  static flags = { format: Flags.string({ char: 'f', description: 'Go template applied to each volume, e.g. {{.Mountpoint}}' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(VolumeInspect);
    const storeRoot = readSettings().storageRoot;
    // Every name is looked up before anything is printed: a missing one is the one error line.
    const shapes = (argv as string[]).map((name) => inspectShape(getVolume(storeRoot, name)));
    if (flags.format === undefined) this.log(JSON.stringify(shapes, null, 4));
    else for (const shape of shapes) this.log(renderTemplate(flags.format, shape));
  }
}
