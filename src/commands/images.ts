import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatAge, formatSize, table } from '../util/format.js';
import { familiarName } from '../image/reference.js';
import { ImageStore } from '../image/store.js';

/** One image as --json and --format json print it (podman's field names). */
interface ImageListEntry {
  Id: string;
  Names: string[];
  Created: string;
  Size: number;
}

export default class Images extends DevboxCommand {
  static summary = 'List images in the local store';
  static aliases = ['image:ls', 'image:list'];
  static examples = ['<%= config.bin %> images', '<%= config.bin %> image ls -q', '<%= config.bin %> images --format json'];
  static enableJsonFlag = true;
  static flags = {
    quiet: Flags.boolean({ char: 'q', description: 'only image ids' }),
    'no-trunc': Flags.boolean({ description: 'full image ids' }),
    format: Flags.string({ description: 'output format (json: as --json)', options: ['table', 'json'], default: 'table' }),
  };

  async run(): Promise<ImageListEntry[]> {
    const { flags } = await this.parse(Images);
    const images = ImageStore.open().list();
    const entries = images.map((i) => ({ Id: i.id, Names: i.names, Created: i.created, Size: i.size }));
    if (this.jsonEnabled()) return entries;
    if (flags.format === 'json') {
      this.log(JSON.stringify(entries, null, 2));
      return entries;
    }
    const id = (full: string) => (flags['no-trunc'] ? full : ImageStore.shortId(full));
    if (flags.quiet) {
      for (const image of images) this.log(id(image.id));
      return entries;
    }
    const rows = images.flatMap((image) => {
      const names = image.names.length ? image.names.map(familiarName) : ['<none>:<none>'];
      return names.map((name) => {
        const colon = name.lastIndexOf(':');
        return [name.slice(0, colon), name.slice(colon + 1), id(image.id), formatAge(image.created), formatSize(image.size)];
      });
    });
    this.log(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
    return entries;
  }
}
