/**
 * `devbox inspect` (docker inspect): containers, else images, as JSON in docker's shape, or each through a Go
 * template; `devbox image inspect` the same for images only. bin/devbox runs both without oclif, whose loading
 * cost more than the lookup; the oclif commands (commands/inspect.ts, commands/image/inspect.ts: their help
 * and aliases) call the same inspectMain.
 */
import { findContainer } from '../container/lookup.js';
import { ImageStore } from '../image/store.js';
import { DevboxError } from '../util/errors.js';
import { execute, parseTemplate } from '../util/go-template.js';
import { inspectContainer } from './container-views.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printLines } from './print.js';
import { reportError } from './report.js';

export const INSPECT_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'format', char: 'f', kind: 'string', description: 'Go template applied to each, e.g. {{.State.Pid}}' },
  { name: 'type', kind: 'string', options: ['container', 'image'], description: 'only look for this kind' },
];

/** `devbox image inspect`'s: docker image inspect's -f (and --json, as every command that inspects takes). */
export const IMAGE_INSPECT_OPTION_DEFS: readonly OptionDef[] = [
  { name: 'format', char: 'f', kind: 'string', description: 'Go template applied to each, e.g. {{.Id}}' },
];

/** What inspect shows of `ref`: the container of that name or id, else the image, unless `type` says which. */
async function inspectOne(store: ImageStore, ref: string, type: string | undefined): Promise<unknown> {
  if (type !== 'image') {
    try {
      const container = findContainer(store.root, ref);
      return inspectContainer(container, container.config.imageName);
    } catch (error) {
      if (type === 'container') throw error;
    }
  }
  try {
    return await store.inspect(ref);
  } catch (error) {
    if (error instanceof DevboxError) throw new DevboxError(`no such object: ${ref}`, { fix: 'see "devbox ps -a" and "devbox images"' });
    throw error;
  }
}

/** `devbox inspect ARGV...`, or with `images` `devbox image inspect ARGV...`; returns the exit status. */
export async function inspectMain(argv: readonly string[], images = false): Promise<number> {
  try {
    const command = images ? 'image inspect' : 'inspect';
    const { values, positionals } = images
      ? parseOptionTable(command, IMAGE_INSPECT_OPTION_DEFS, argv, { json: true })
      : parseOptionTable(command, INSPECT_OPTION_DEFS, argv);
    const refs = checkOperands(command, positionals, images ? 'an image' : 'a container or image');
    const format = values.format as string | undefined;
    const template = values.json || format === undefined || format === 'json' ? undefined : parseTemplate(format);
    const store = ImageStore.open();
    const results: unknown[] = [];
    // An unknown image is the store's own error there ("unknown image"), as docker image inspect's "No such image".
    for (const ref of refs) results.push(images ? await store.inspect(ref) : await inspectOne(store, ref, values.type as string | undefined));
    if (!template) return printLines([JSON.stringify(results, null, 4)]);
    return printLines(results.map((result) => execute(template, result)));
  } catch (error) {
    return reportError(error);
  }
}
