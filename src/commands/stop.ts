import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { findSandboxes, stopProjectSandboxes } from '../project/sandboxes.js';
import { stopContainers } from '../sandbox/container-lifecycle.js';

export default class Stop extends DevboxCommand {
  static summary = "Stop containers, or project sandboxes (the current project's by default); their files stay until devbox rm";
  static description =
    'A container gets its stop signal (SIGTERM unless set otherwise), then SIGKILL after the timeout; one that is stopped already is left as it is.';
  static aliases = ['container:stop'];
  static strict = false;
  static examples = ['<%= config.bin %> stop', '<%= config.bin %> stop web', '<%= config.bin %> stop -t 2 web', '<%= config.bin %> stop myproject'];
  static args = { container: Args.string({ description: 'container name or id, project name, project folder or sandbox id (one or more)' }) };
  static flags = {
    time: Flags.integer({ char: 't', description: 'seconds to wait before killing it (default: its --stop-timeout, 10)' }),
    signal: Flags.string({ char: 's', description: 'signal to stop it with (default: its stop signal)' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Stop);
    const refs = argv as string[];
    const found = findSandboxes(refs);
    const sandboxes = found.flatMap((f) => (f.sandbox ? [f.sandbox] : []));
    const containers = found.filter((f) => !f.sandbox).map((f) => f.ref);
    await stopContainers(containers, flags.time, flags.signal);
    for (const name of await stopProjectSandboxes(sandboxes)) this.log(name);
    for (const ref of containers) this.log(ref);
  }
}
