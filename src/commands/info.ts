import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatRows, parseTemplate } from '../util/go-template.js';
import { machineInfo, type MachineInfo } from '../doctor/machine-info.js';
import { formatSize } from '../util/format.js';

export default class Info extends DevboxCommand {
  static summary = 'Show the store, storage driver, id maps, network and cgroup support of this machine (docker info)';
  static aliases = ['system:info'];
  static examples = ['<%= config.bin %> info', '<%= config.bin %> info --format "{{.Driver}}"', '<%= config.bin %> info --json'];
  static enableJsonFlag = true;
  static flags = { format: Flags.string({ char: 'f', description: 'Go template, or "json"' }) };

  async run(): Promise<MachineInfo> {
    const { flags } = await this.parse(Info);
    if (flags.format && flags.format !== 'json') parseTemplate(flags.format); // a bad template fails before the probes
    const i = await machineInfo();
    if (flags.format) {
      for (const line of formatRows(flags.format, [i], {})) this.log(line);
      return i;
    }
    const found = (path: string) => path || 'not found';
    this.log(`Containers: ${i.Containers}
 Running: ${i.ContainersRunning}
 Paused: ${i.ContainersPaused}
 Stopped: ${i.ContainersStopped}
Images: ${i.Images}
Storage Driver: ${i.Driver}
Devbox Root Dir: ${i.DevboxRootDir}
ID Maps: ${i.IdMaps.Subordinate ? 'subordinate ranges' : 'single id (no /etc/subuid range)'}
 UID Map: ${i.IdMaps.UidMap}
 GID Map: ${i.IdMaps.GidMap}
Network: ${i.Network.Default}
 slirp4netns: ${found(i.Network.Slirp4netns)}
 pasta: ${found(i.Network.Pasta)}
Cgroup Version: ${i.CgroupVersion} (${i.CgroupLayout})
 Limits: ${i.Limits.join(' ') || 'none'}
Kernel Version: ${i.KernelVersion}
Operating System: ${i.OperatingSystem}
OSType: ${i.OSType}
Architecture: ${i.Architecture}
CPUs: ${i.NCPU}
Total Memory: ${formatSize(i.MemTotal)}
Name: ${i.Name}`);
    if (!i.Limits.length) this.logToStderr(`WARNING: no resource limits or pause: ${i.CgroupDetail}; see devbox doctor`);
    return i;
  }
}
