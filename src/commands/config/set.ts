import { Args } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { asSettingKey, setSetting } from '../../settings/write.js';

export default class ConfigSet extends DevboxCommand {
  static summary = 'Change a user setting (see docs/configuration.md; lists and maps are given as JSON)';
  static examples = [
    '<%= config.bin %> config set storage fuse',
    '<%= config.bin %> config set storageRoot /data/devbox',
    `<%= config.bin %> config set registryMirrors '{"docker.io":["mirror.example.com:5000"]}'`,
    `<%= config.bin %> config set insecureRegistries '["registry.lan:5000"]'`,
    '<%= config.bin %> config set defaultPlatform linux/arm64',
  ];
  static args = { key: Args.string({ required: true }), value: Args.string({ required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(ConfigSet);
    await setSetting(asSettingKey(args.key), args.value);
  }
}
