import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatItems, parseTemplate } from '../cli/go-template.js';
import { type Container, findContainer, isRunning, listContainers } from '../container/lookup.js';
import { shortId } from '../container/records.js';
import { cpuPercent, memoryLimit, sampleUsage, type UsageSample } from '../container/stats.js';
import { readSettings } from '../settings/settings.js';
import { formatMemory, formatSize } from '../util/format.js';
import { note } from '../util/warn.js';

/** One row, with docker stats' --format field names. */
interface StatsItem {
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

const HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};
const DEFAULT_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';
/** docker stats redraws every second. */
const INTERVAL_MS = 1000;

function sample(container: Container): UsageSample | undefined {
  if (!isRunning(container) || !container.state.pid) return undefined;
  try {
    return sampleUsage(container.state.pid);
  } catch {
    return undefined; // it stopped between the listing and the reading
  }
}

function item(
  container: Container,
  before: Pick<UsageSample, 'at' | 'cpuSeconds'> | undefined,
  now: UsageSample | undefined,
  limit: number,
  noTrunc: boolean,
): StatsItem {
  const id = noTrunc ? container.id : shortId(container.id);
  const blank = { CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', NetIO: '--', BlockIO: '--', PIDs: '--' };
  if (!now || !before) return { Container: container.config.name, ID: id, Name: container.config.name, ...blank };
  return {
    Container: container.config.name,
    ID: id,
    Name: container.config.name,
    CPUPerc: `${cpuPercent(before, now).toFixed(2)}%`,
    MemUsage: `${formatMemory(now.memoryBytes)} / ${formatMemory(limit)}`,
    MemPerc: `${limit ? ((now.memoryBytes / limit) * 100).toFixed(2) : '0.00'}%`,
    NetIO: now.net ? `${formatSize(now.net.rx)} / ${formatSize(now.net.tx)}` : '-- / --',
    BlockIO: `${formatSize(now.blockRead)} / ${formatSize(now.blockWrite)}`,
    PIDs: String(now.pids),
  };
}

export default class Stats extends DevboxCommand {
  static summary = "Show containers' use of CPU, memory, network and block I/O";
  static description =
    'Summed from /proc over the processes of each container (devbox puts containers in no cgroup of their own): ' +
    "memory is their proportional set size, the limit the machine's memory. With --no-stream, CPU % is the " +
    'average since the container started; streaming, over the last second.';
  static aliases = ['container:stats'];
  static examples = [
    '<%= config.bin %> stats --no-stream',
    '<%= config.bin %> stats web',
    '<%= config.bin %> stats --no-stream --format "{{.Name}} {{.MemUsage}}"',
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { containers: Args.string({ description: 'containers (default: every running one)' }) };
  static flags = {
    all: Flags.boolean({ char: 'a', description: 'stopped containers too' }),
    'no-stream': Flags.boolean({ description: 'print once and exit' }),
    'no-trunc': Flags.boolean({ description: 'full container ids' }),
    format: Flags.string({ description: 'Go template, "table TEMPLATE" or "json"' }),
  };

  async run(): Promise<StatsItem[]> {
    const { argv, flags } = await this.parse(Stats);
    if (flags.format && flags.format !== 'json') parseTemplate(flags.format.replace(/^table\s*/, '')); // a bad template fails before any output
    const root = readSettings().storageRoot;
    const named = (argv as string[]).map((ref) => findContainer(root, ref));
    const containers = () => (named.length ? named.map((c) => findContainer(root, c.id)) : listContainers(root).filter((c) => flags.all || isRunning(c)));
    const limit = memoryLimit();
    const once = flags['no-stream'] || this.jsonEnabled();
    let previous = new Map<string, UsageSample>();
    const frame = (): StatsItem[] => {
      const current = new Map<string, UsageSample>();
      const items = containers().map((c) => {
        const now = sample(c);
        if (now) current.set(c.id, now);
        // The first frame: the average since the container started.
        const since = previous.get(c.id) ?? (now && c.state.startedAt ? { at: Date.parse(c.state.startedAt), cpuSeconds: 0 } : undefined);
        return item(c, since, now, limit, flags['no-trunc']);
      });
      previous = current;
      return items;
    };
    if (once) {
      const items = frame();
      if (this.jsonEnabled()) return items;
      for (const line of formatItems(flags.format ?? DEFAULT_FORMAT, items, HEADERS)) this.log(line);
      note("figures summed from /proc of each container's processes, not from a cgroup");
      return items;
    }
    // Streaming, as docker: the screen redrawn every second on a terminal, frames one after another else.
    const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
    for (;;) {
      const lines = formatItems(flags.format ?? DEFAULT_FORMAT, frame(), HEADERS);
      process.stdout.write(`${clear}${lines.join('\n')}\n`);
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
  }
}
