import { DevboxCommand } from '../../cli/base-command.js';
import { devboxCommand } from '../../cli/devbox-command.js';

export default class EditorJetbrains extends DevboxCommand {
  static summary = "Print the shell path that makes a JetBrains IDE's terminal open inside the project's sandbox";
  static examples = ['<%= config.bin %> editor jetbrains'];

  async run(): Promise<void> {
    await this.parse(EditorJetbrains);
    this.log(`${devboxCommand()} shell`);
    process.stderr.write('Paste it into Settings | Tools | Terminal | Shell path (per project), then open a new terminal tab.\n');
  }
}
