/**
 * `devbox images` (docker images, podman's JSON field names). bin/devbox runs it without oclif, whose loading
 * cost more than the listing; the oclif command (commands/images.ts, its help and its alias `image ls`) calls
 * the same imagesMain.
 */
import { familiarName } from '../image/reference.js';
import { ImageStore } from '../image/store.js';
import { formatAge, formatSize, table } from '../util/format.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const IMAGES_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'only image ids' },
  { name: 'no-trunc', kind: 'boolean', description: 'full image ids' },
  { name: 'format', kind: 'string', options: ['table', 'json'], description: 'output format (json: as --json)' },
];

/** `devbox images ARGV...`; returns the exit status. */
export async function imagesMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('images', IMAGES_OPTION_DEFS, argv, { json: true });
    checkOperands('images', positionals);
    const images = ImageStore.open().list();
    const entries = images.map((i) => ({ Id: i.id, Names: i.names, Created: i.created, Size: i.size }));
    if (values.json || values.format === 'json') return printJson(entries);
    const id = (full: string) => (values['no-trunc'] ? full : ImageStore.shortId(full));
    if (values.quiet) return printLines(images.map((image) => id(image.id)));
    const rows = images.flatMap((image) => {
      const names = image.names.length ? image.names.map(familiarName) : ['<none>:<none>'];
      return names.map((name) => {
        const colon = name.lastIndexOf(':');
        return [name.slice(0, colon), name.slice(colon + 1), id(image.id), formatAge(image.created), formatSize(image.size)];
      });
    });
    return printLines([table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows)]);
  } catch (error) {
    return reportError(error);
  }
}
