import { DevboxCommand } from '../../cli/base-command.js';
import { readSettings, settingsPath } from '../../settings/settings.js';

export default class Config extends DevboxCommand {
  static summary = 'Show the user settings in effect and where they are kept';
  static examples = ['<%= config.bin %> config', '<%= config.bin %> config --json'];
  static enableJsonFlag = true;

  async run(): Promise<object> {
    const settings = readSettings();
    this.log(`# ${settingsPath()}`);
    for (const [key, value] of Object.entries(settings)) this.log(`${key} = ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    return { path: settingsPath(), settings };
  }
}
