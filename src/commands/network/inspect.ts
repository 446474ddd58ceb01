import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../../cli/base-command.js';
import { parseTemplate, renderTemplate } from '../../cli/go-template.js';
import { inspectNetwork } from '../../cli/network-views.js';
import { ImageStore } from '../../image/store.js';
import { requireNetwork } from '../../network/networks.js';
import { networkUsers } from '../../sandbox/networks-in-use.js';

export default class NetworkInspect extends DevboxCommand {
  static summary = "Show networks as JSON, in docker network inspect's shape; -f picks fields with a Go template";
  static strict = false;
  static examples = ['<%= config.bin %> network inspect backend', "<%= config.bin %> network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' backend"];
  static args = { name: Args.string({ description: 'network: name or id (one or more)', required: true }) };
  static flags = {
    format: Flags.string({ char: 'f', description: 'Go template applied to each, e.g. {{.Internal}}' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(NetworkInspect);
    const template = flags.format === undefined || flags.format === 'json' ? undefined : parseTemplate(flags.format);
    const root = ImageStore.open().root;
    const networks = (argv as string[]).map((ref) => requireNetwork(root, ref));
    const users = networkUsers(root);
    const results = networks.map((n) => inspectNetwork(n, users.get(n.name) ?? []));
    if (!template) {
      this.log(JSON.stringify(results, null, 4));
      return;
    }
    for (const result of results) this.log(renderTemplate(template, result));
  }
}
