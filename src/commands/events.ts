import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { eventItem, eventJson, eventLine } from '../cli/event-views.js';
import { execute, parseTemplate } from '../util/go-template.js';
import { parseEventFilters, readEvents } from '../container/event-reader.js';
import { parseLogTime } from '../container/logs.js';
import { ImageStore } from '../image/store.js';
import { readSettings } from '../settings/settings.js';

export default class Events extends DevboxCommand {
  static summary = 'Show container events from the store (create, start, die, stop, kill, rename, destroy, …) as they happen';
  static description =
    'As docker events: waits for new events until interrupted (with --since, first the recorded ones since then); with --until it stops at that time, with --no-stream at the end of the log (all recorded events unless --since).';
  static aliases = ['system:events'];
  static examples = [
    '<%= config.bin %> events',
    '<%= config.bin %> events --since 10m --until 0s',
    '<%= config.bin %> events --filter event=die --filter container=web',
    '<%= config.bin %> events --format "{{.Action}} {{.Actor.Attributes.name}}"',
  ];
  static flags = {
    since: Flags.string({ description: 'only events since a time (RFC 3339, Unix seconds) or a duration ago (10m)' }),
    until: Flags.string({ description: 'stop at a time (RFC 3339, Unix seconds) or a duration ago (10m); 0s: now' }),
    filter: Flags.string({ char: 'f', description: 'KEY=VALUE: type, event, container, image', multiple: true }),
    format: Flags.string({ description: 'Go template, or "json"' }),
    stream: Flags.boolean({ description: 'wait for new events (--no-stream: stop at the end of the log)', default: true, allowNo: true }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Events);
    const now = Date.now();
    const until = flags.until === undefined ? undefined : parseLogTime(flags.until, '--until', now);
    // As docker: following with no --since shows only what happens from now on.
    const following = flags.stream && (until === undefined || until > now);
    const query = {
      since: flags.since === undefined ? (following ? now : undefined) : parseLogTime(flags.since, '--since', now),
      until,
      filters: parseEventFilters(flags.filter ?? []),
    };
    const template = flags.format && flags.format !== 'json' ? parseTemplate(flags.format.replace(/\\t/g, '\t').replace(/\\n/g, '\n')) : undefined;
    const print = (line: string) => process.stdout.write(`${line}\n`);
    const root = ImageStore.open(readSettings().storageRoot).root;
    const interrupted = new AbortController();
    const stop = () => interrupted.abort();
    process.once('SIGINT', stop).once('SIGTERM', stop);
    try {
      await readEvents(
        root,
        query,
        (event) => {
          const item = eventItem(event);
          print(flags.format === 'json' ? eventJson(item) : template ? execute(template, item) : eventLine(item));
        },
        { follow: flags.stream, signal: interrupted.signal },
      );
    } finally {
      process.off('SIGINT', stop).off('SIGTERM', stop);
    }
  }
}
