import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findContainer } from '../container/lookup.js';
import { parseLogTime, parseTail, printLogs } from '../container/logs.js';
import { readSettings } from '../settings/settings.js';

export default class Logs extends DevboxCommand {
  static summary = "Show a container's output, as its supervisor recorded it (docker logs)";
  static aliases = ['container:logs'];
  static examples = ['<%= config.bin %> logs web', '<%= config.bin %> logs -f --tail 10 -t web', '<%= config.bin %> logs --since 10m web'];
  static args = { container: Args.string({ description: 'container name, id or unique id prefix', required: true }) };
  static flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep printing new output until the container stops' }),
    tail: Flags.string({ char: 'n', description: 'only this many lines from the end ("all" for every line)' }),
    timestamps: Flags.boolean({ char: 't', description: 'show the time of each line' }),
    since: Flags.string({ description: 'only lines since a time (RFC 3339, Unix seconds) or a duration ago (10m)' }),
    until: Flags.string({ description: 'only lines before a time (RFC 3339, Unix seconds) or a duration ago (10m)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const tail = parseTail(flags.tail);
    await printLogs(findContainer(readSettings().storageRoot, args.container), {
      follow: flags.follow,
      tail,
      timestamps: flags.timestamps,
      since: flags.since === undefined ? undefined : parseLogTime(flags.since, '--since'),
      until: flags.until === undefined ? undefined : parseLogTime(flags.until, '--until'),
    });
  }
}
