import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { inspectContainer } from '../cli/container-views.js';
import { parseTemplate, renderTemplate } from '../cli/go-template.js';
import { findContainer } from '../container/lookup.js';
import { ImageStore } from '../image/store.js';
import { DevboxError } from '../util/errors.js';

export default class Inspect extends DevboxCommand {
  static summary = "Show containers (or images) as JSON, in docker inspect's shape; -f picks fields with a Go template";
  static aliases = ['container:inspect'];
  static strict = false;
  static examples = ['<%= config.bin %> inspect web', "<%= config.bin %> inspect -f '{{.State.Status}} {{.State.ExitCode}}' web"];
  static args = { name: Args.string({ description: 'container or image: name or id (one or more)', required: true }) };
  static flags = {
    format: Flags.string({ char: 'f', description: 'Go template applied to each, e.g. {{.State.Pid}}' }),
    type: Flags.string({ description: 'only look for this kind', options: ['container', 'image'] }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Inspect);
    const template = flags.format === undefined || flags.format === 'json' ? undefined : parseTemplate(flags.format);
    const store = ImageStore.open();
    const results: unknown[] = [];
    for (const ref of argv as string[]) {
      let container: ReturnType<typeof findContainer> | undefined;
      if (flags.type !== 'image') {
        try {
          container = findContainer(store.root, ref);
        } catch (error) {
          if (flags.type === 'container') throw error;
        }
      }
      if (container) results.push(inspectContainer(container, container.config.imageName));
      else {
        try {
          results.push(await store.inspect(ref));
        } catch (error) {
          if (error instanceof DevboxError) throw new DevboxError(`no such object: ${ref}`, { fix: 'see "devbox ps -a" and "devbox images"' });
          throw error;
        }
      }
    }
    if (!template) {
      this.log(JSON.stringify(results, null, 4));
      return;
    }
    for (const result of results) this.log(renderTemplate(template, result));
  }
}
