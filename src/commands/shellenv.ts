import { Args } from '@oclif/core';
import { basename } from 'node:path';
import { DevboxCommand } from '../cli/base-command.js';
import { devboxCommand } from '../cli/devbox-command.js';
import { SHELLENV_SHELLS, shellenvSnippet, type ShellenvShell } from '../project/shellenv.js';
import { DevboxError } from '../util/errors.js';

export default class Shellenv extends DevboxCommand {
  static summary = "Print a hook that enters a project's sandbox in terminals opened in it";
  static description =
    "Add it to your shell's rc file. `exit` returns to the host shell; DEVBOX_AUTO_SHELL=0 turns it off. `devbox shellenv direnv` prints an .envrc line to turn it on per folder.";
  static examples = [
    'echo \'eval "$(<%= config.bin %> shellenv bash)"\' >> ~/.bashrc',
    'echo \'eval "$(<%= config.bin %> shellenv zsh)"\' >> ~/.zshrc',
    "echo '<%= config.bin %> shellenv fish | source' >> ~/.config/fish/config.fish",
    '<%= config.bin %> shellenv direnv >> .envrc',
  ];
  static args = { shell: Args.string({ description: 'bash, zsh, fish or direnv (default: from $SHELL)', options: [...SHELLENV_SHELLS] }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Shellenv);
    const shell = (args.shell ?? basename(process.env.SHELL ?? '')) as ShellenvShell;
    if (!SHELLENV_SHELLS.includes(shell)) {
      throw new DevboxError(`cannot tell the shell from SHELL=${process.env.SHELL ?? ''}`, { fix: `name it: devbox shellenv ${SHELLENV_SHELLS.join('|')}` });
    }
    process.stdout.write(shellenvSnippet(shell, devboxCommand()));
  }
}
