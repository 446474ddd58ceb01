import { DevboxCommand } from '../../cli/base-command.js';
import { formatSize, table } from '../../util/format.js';
import { imagesUsage } from '../../image/usage.js';
import { ImageStore } from '../../image/store.js';
import { containersUsage } from '../../sandbox/container-usage.js';
import { imagesInUse } from '../../sandbox/images-in-use.js';
import { volumesUsage } from '../../sandbox/volumes.js';

export default class SystemDf extends DevboxCommand {
  static summary = 'Show the disk space images, containers and volumes use (docker system df)';
  static examples = ['<%= config.bin %> system df', '<%= config.bin %> system df --json'];
  static enableJsonFlag = true;

  async run(): Promise<object> {
    const store = ImageStore.open();
    const images = imagesUsage(store, imagesInUse(store.root).used);
    const containers = containersUsage(store.root);
    const volumes = volumesUsage(store.root);
    const percent = (part: number, whole: number) => (whole ? ` (${Math.round((100 * part) / whole)}%)` : '');
    const row = (type: string, u: { total: number; active: number; size: number; reclaimable: number }) => [
      type,
      String(u.total),
      String(u.active),
      formatSize(u.size),
      `${formatSize(u.reclaimable)}${percent(u.reclaimable, u.size)}`,
    ];
    this.log(table(['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], [row('Images', images), row('Containers', containers), row('Local Volumes', volumes)]));
    return { images, containers, volumes };
  }
}
