import { relative } from 'node:path';
import { DevboxCommand } from '../../cli/base-command.js';
import { devboxCommand } from '../../cli/devbox-command.js';
import { configureVscode } from '../../project/editor-vscode.js';
import { requireProjectConfig } from '../../project/load.js';

export default class EditorVscode extends DevboxCommand {
  static summary = "Make VS Code's terminals, tasks and debug terminals open inside the project's sandbox";
  static description =
    'Merges a "devbox" terminal profile (the default) and an automation profile into .vscode/settings.json at the project root, keeping your other settings and comments.';
  static examples = ['<%= config.bin %> editor vscode'];

  async run(): Promise<void> {
    await this.parse(EditorVscode);
    const { root } = requireProjectConfig();
    const { path, changed } = await configureVscode(root, devboxCommand());
    this.log(changed ? `updated ${relative(process.cwd(), path) || path}: new terminals open in devbox shell` : `${path} is already set up`);
  }
}
