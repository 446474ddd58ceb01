import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { CONTAINER_START_FAILED } from '../cli/report.js';
import { pauseContainers } from '../sandbox/container-lifecycle.js';

export default class Pause extends DevboxCommand {
  static summary = 'Pause all processes of containers (needs a cgroup freezer: a delegated cgroup v2)';
  static description =
    'Where containers get no cgroup (cgroup v1 or hybrid, no systemd user session) this is refused with the reason, status 125, as rootless podman does.';
  static aliases = ['container:pause'];
  static strict = false;
  static examples = ['<%= config.bin %> pause web'];
  static args = { container: Args.string({ description: 'container name or id (one or more)', required: true }) };
  // podman's status for an engine failure; the refusal is one.
  protected failureStatus = CONTAINER_START_FAILED;
  protected verb: 'pause' | 'unpause' = 'pause';

  async run(): Promise<void> {
    const { argv } = await this.parse();
    pauseContainers(argv as string[], this.verb);
  }
}
