import { Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { readSettings } from '../../settings/settings.js';
import { listShape, volumeFilter, volumeUsers } from '../../sandbox/volumes.js';
import { formatRows } from '../../util/go-template.js';
import { listVolumes } from '../../volume/volume-store.js';

export default class VolumeLs extends DevboxCommand {
  static summary = 'List volumes (docker volume ls)';
  static aliases = ['volume:list'];
  static examples = [
    '<%= config.bin %> volume ls',
    '<%= config.bin %> volume ls -q --filter dangling=true',
    '<%= config.bin %> volume ls --format "{{.Name}}: {{.Labels}}"',
  ];
  static flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only volume names' }),
    filter: Flags.string({
      char: 'f',
      description: 'dangling=true|false, driver=local, label=KEY[=VALUE], name=TEXT (repeatable)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    format: Flags.string({ description: 'Go template ({{.Name}}, {{.Driver}}, {{.Labels}}, {{.Mountpoint}} …), "table …" or "json"' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(VolumeLs);
    const storeRoot = readSettings().storageRoot;
    const users = volumeUsers(storeRoot);
    const matches = volumeFilter(flags.filter ?? []);
    const rows = listVolumes(storeRoot)
      .filter((v) => matches(v, users))
      .map((v) => listShape(v, users));
    const format = flags.quiet ? '{{.Name}}' : (flags.format ?? 'table');
    for (const line of formatRows(format, rows, { Name: 'VOLUME NAME', CreatedAt: 'CREATED' }, '{{.Driver}}\t{{.Name}}')) this.log(line);
  }
}
