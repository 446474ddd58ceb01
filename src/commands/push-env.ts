import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { pushProjectEnvironment } from '../project/push-env.js';

export default class PushEnv extends DevboxCommand {
  static summary = "Push the project's built environment to a registry, for teammates to pull instead of building";
  static description =
    'Builds the environment first when its current inputs have no image. The image goes to REPOSITORY:TAG, TAG being the first 12 hex digits of ' +
    'the inputs hash; its label dev.devbox.inputs-hash holds the whole hash. A teammate whose devbox.json names the repository as "envImage" ' +
    'and whose inputs hash the same pulls it on devbox shell or run. See docs/project-sandboxes.md.';
  static examples = ['<%= config.bin %> push-env', '<%= config.bin %> push-env registry.example.com/team/webshop-env'];
  static args = { repository: Args.string({ description: 'REGISTRY/NAME to push to, without a tag (default: "envImage" of devbox.json)' }) };
  static flags = { quiet: Flags.boolean({ char: 'q', description: 'no progress output' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(PushEnv);
    const pushed = await pushProjectEnvironment(args.repository, { progress: flags.quiet ? 'quiet' : 'auto' });
    this.log(`${pushed.name}: digest: ${pushed.digest} size: ${pushed.size}`);
  }
}
