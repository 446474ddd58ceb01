import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { type CompletionCommand, fishCompletionScript } from '../cli/fish-completion.js';

export default class Completion extends DevboxCommand {
  static summary = 'Print a shell completion script (fish; bash and zsh: devbox autocomplete)';
  static description = 'For bash and zsh, `devbox autocomplete bash|zsh` prints the line to add to your rc file.';
  static examples = ["echo '<%= config.bin %> completion fish | source' >> ~/.config/fish/config.fish"];
  static args = { shell: Args.string({ description: 'the shell', options: ['fish'], required: true }) };

  async run(): Promise<void> {
    await this.parse(Completion);
    const commands = new Map<string, CompletionCommand>();
    for (const command of this.config.commands) {
      if (command.hidden) continue;
      const flags = Object.entries(command.flags ?? {})
        .filter(([, flag]) => !flag.hidden)
        .map(([name, flag]) => ({
          name,
          char: flag.char,
          summary: flag.summary ?? flag.description,
          takesValue: flag.type === 'option',
          options: flag.type === 'option' ? flag.options : undefined,
        }));
      for (const id of [command.id, ...(command.aliases ?? [])]) commands.set(id, { id, summary: command.summary ?? command.description ?? '', flags });
    }
    const topics = new Map(this.config.topics.map((topic) => [topic.name, topic.description ?? '']));
    process.stdout.write(fishCompletionScript(this.config.bin, [...commands.values()], topics));
  }
}
