import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { asSettingKey, unsetSetting } from '../../settings/write.js';

export default class ConfigUnset extends DevboxCommand {
  static summary = 'Return a user setting to its default';
  static args = { key: Args.string({ required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ConfigUnset);
    await unsetSetting(asSettingKey(args.key));
  }
}
