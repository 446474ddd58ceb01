/**
 * `devbox inspect` (docker inspect): containers, else images, as JSON in docker's shape, or each through a Go
 * template. bin/devbox runs it without oclif, whose loading cost more than the lookup; the oclif command
 * (commands/inspect.ts, its help and its alias) calls the same inspectMain.
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

/** `devbox inspect ARGV...`; returns the exit status. */
export async function inspectMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('inspect', INSPECT_OPTION_DEFS, argv);
    const refs = checkOperands('inspect', positionals, 'a container or image');
    const format = values.format as string | undefined;
    const template = format === undefined || format === 'json' ? undefined : parseTemplate(format);
    const store = ImageStore.open();
    const results: unknown[] = [];
    for (const ref of refs) results.push(await inspectOne(store, ref, values.type as string | undefined));
    if (!template) return printLines([JSON.stringify(results, null, 4)]);
    return printLines(results.map((result) => execute(template, result)));
  } catch (error) {
    return reportError(error);
  }
}
