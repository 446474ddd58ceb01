import { Args } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { DEFAULT_REGISTRY } from '../image/reference.js';
import { removeCredentials } from '../registry/credentials.js';
import { registryHost } from '../registry/login.js';

export default class Logout extends DevboxCommand {
  static summary = 'Remove the credentials devbox login stored for a registry';
  static examples = ['<%= config.bin %> logout registry.example.com'];
  static args = { registry: Args.string({ description: `registry host[:port] (default: ${DEFAULT_REGISTRY})` }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Logout);
    const host = registryHost(args.registry ?? DEFAULT_REGISTRY);
    await removeCredentials(host);
    this.log(`Removed login credentials for ${host}`);
  }
}
