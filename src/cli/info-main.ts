/**
 * `devbox info` (docker info): the store, storage driver, id maps, network and cgroup support of this machine.
 * bin/devbox runs it without oclif, whose loading cost more than the probes; the oclif command (commands/info.ts,
 * its help and its alias `system info`) calls the same infoMain.
 */
import { machineInfo } from '../doctor/machine-info.js';
import { formatSize } from '../util/format.js';
import { writeStderr } from '../util/stdio.js';
import { formatRows, parseTemplate } from '../util/go-template.js';
import { checkOperands, parseOptionTable, type OptionDef } from './option-table.js';
import { printJson, printLines } from './print.js';
import { reportError } from './report.js';

export const INFO_OPTION_DEFS: readonly OptionDef[] = [{ name: 'format', char: 'f', kind: 'string', description: 'Go template, or "json"' }];

/** `devbox info ARGV...`; returns the exit status. */
export async function infoMain(argv: readonly string[]): Promise<number> {
  try {
    const { values, positionals } = parseOptionTable('info', INFO_OPTION_DEFS, argv, { json: true });
    checkOperands('info', positionals);
    const format = values.format as string | undefined;
    if (format && format !== 'json') parseTemplate(format); // a bad template fails before the probes
    const i = await machineInfo();
    if (values.json) return printJson(i);
    if (format) return printLines(formatRows(format, [i], {}));
    const found = (path: string) => path || 'not found';
    printLines([
      `Containers: ${i.Containers}`,
      ` Running: ${i.ContainersRunning}`,
      ` Paused: ${i.ContainersPaused}`,
      ` Stopped: ${i.ContainersStopped}`,
      `Images: ${i.Images}`,
      `Storage Driver: ${i.Driver}`,
      `Devbox Root Dir: ${i.DevboxRootDir}`,
      `ID Maps: ${i.IdMaps.Subordinate ? 'subordinate ranges' : 'single id (no /etc/subuid range)'}`,
      ` UID Map: ${i.IdMaps.UidMap}`,
      ` GID Map: ${i.IdMaps.GidMap}`,
      `Network: ${i.Network.Default}`,
      ` slirp4netns: ${found(i.Network.Slirp4netns)}`,
      ` pasta: ${found(i.Network.Pasta)}`,
      `Cgroup Version: ${i.CgroupVersion} (${i.CgroupLayout})`,
      ` Limits: ${i.Limits.join(' ') || 'none'}`,
      `Kernel Version: ${i.KernelVersion}`,
      `Operating System: ${i.OperatingSystem}`,
      `OSType: ${i.OSType}`,
      `Architecture: ${i.Architecture}`,
      `CPUs: ${i.NCPU}`,
      `Total Memory: ${formatSize(i.MemTotal)}`,
      `Name: ${i.Name}`,
    ]);
    if (!i.Limits.length) writeStderr(`WARNING: no resource limits or pause: ${i.CgroupDetail}; see devbox doctor\n`);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}
