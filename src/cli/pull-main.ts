/**
 * `devbox pull` (docker pull, `image pull`): bin/devbox runs it without oclif, whose loading took ~0.3 s before
 * the first connection to the registry; the oclif command (commands/pull.ts: its help and alias) calls the
 * same pullMain.
 */
import { digestHex } from '../image/blobs.js';
import { ImageStore } from '../image/store.js';
import { pullImage } from '../registry/pull.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const PULL_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'platform', kind: 'string', description: "os/arch[/variant] to pull from a multi-platform image (default: the host's)" },
  { name: 'quiet', char: 'q', kind: 'boolean', description: 'no progress output' },
];

/** `devbox pull ARGV...`: prints the image id on stdout, progress on stderr; returns the exit status. */
export async function pullMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('pull', PULL_OPTION_DEFS, argv);
    const [ref] = checkOperands('pull', positionals, 'an image reference', 1);
    const options = { platform: values.platform as string | undefined, progress: values.quiet ? ('quiet' as const) : ('auto' as const) };
    const image = await pullImage(ImageStore.open(), ref, options);
    return printLines([digestHex(image.id)]);
  } catch (error) {
    return reportError(error);
  }
}
