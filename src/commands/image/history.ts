import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { formatAge, formatSize, table } from '../../util/format.js';
import { imageHistory } from '../../image/history.js';
import { ImageStore } from '../../image/store.js';

export default class ImageHistory extends DevboxCommand {
  static summary = 'Show how an image was built: one row per step, newest first (docker history)';
  static aliases = ['history'];
  static examples = ['<%= config.bin %> history debian:bookworm', '<%= config.bin %> image history --no-trunc --format json app'];
  static args = { image: Args.string({ description: 'image name or id', required: true }) };
  static enableJsonFlag = true;
  static flags = {
    'no-trunc': Flags.boolean({ description: 'full ids and commands' }),
    quiet: Flags.boolean({ char: 'q', description: 'only image ids' }),
    format: Flags.string({ description: 'output format (json: as --json)', options: ['table', 'json'], default: 'table' }),
  };

  async run(): Promise<object[]> {
    const { args, flags } = await this.parse(ImageHistory);
    const rows = imageHistory(await ImageStore.open().resolve(args.image));
    const id = (full?: string) => (full ? (flags['no-trunc'] || this.jsonEnabled() ? full : ImageStore.shortId(full)) : '<missing>');
    const entries = rows.map((r) => ({ id: id(r.id), created: r.created ?? null, createdBy: r.createdBy, size: r.size, comment: r.comment }));
    if (this.jsonEnabled()) return entries;
    if (flags.format === 'json') {
      this.log(JSON.stringify(entries, null, 2));
      return entries;
    }
    if (flags.quiet) {
      for (const r of rows) this.log(id(r.id));
      return entries;
    }
    const command = (text: string) => (flags['no-trunc'] || text.length <= 45 ? text : `${text.slice(0, 44)}…`);
    this.log(
      table(
        ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
        rows.map((r) => [id(r.id), r.created ? formatAge(r.created) : '', command(r.createdBy), formatSize(r.size), r.comment]),
      ),
    );
    return entries;
  }
}
