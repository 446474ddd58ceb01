import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { asSettingKey, setSetting } from '../../settings/write.js';

export default class ConfigSet extends DevboxCommand {
  static summary = 'Change a user setting (storage, storageRoot, network, autoForward, allowHostLoopback)';
  static examples = ['<%= config.bin %> config set storage fuse', '<%= config.bin %> config set storageRoot /data/devbox'];
  static args = { key: Args.string({ required: true }), value: Args.string({ required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ConfigSet);
    await setSetting(asSettingKey(args.key), args.value);
  }
}
