import { arch, release } from 'node:os';
import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatRows } from '../util/go-template.js';
import { helperPath } from '../runtime/helper.js';
import { describeError } from '../util/errors.js';

export interface VersionInfo {
  Client: { Version: string; NodeVersion: string; Os: string; Arch: string; KernelVersion: string };
  /** docker's Server block: devbox has no daemon; the native helper is its engine, built from the same tree. */
  Engine: { Version: string; Helper: string; Daemonless: boolean };
}

export default class Version extends DevboxCommand {
  static summary = "Show devbox's version, the Node.js it runs on and its native helper (docker version)";
  static examples = ['<%= config.bin %> version', '<%= config.bin %> version --format "{{.Client.Version}}"', '<%= config.bin %> version --json'];
  static enableJsonFlag = true;
  static flags = { format: Flags.string({ char: 'f', description: 'Go template, or "json"' }) };

  async run(): Promise<VersionInfo> {
    const { flags } = await this.parse(Version);
    let helper: string;
    try {
      helper = helperPath();
    } catch (error) {
      helper = `missing (${describeError(error)})`;
    }
    const info: VersionInfo = {
      Client: { Version: this.config.version, NodeVersion: process.version, Os: 'linux', Arch: arch() === 'x64' ? 'amd64' : arch(), KernelVersion: release() },
      Engine: { Version: this.config.version, Helper: helper, Daemonless: true },
    };
    if (flags.format) {
      for (const line of formatRows(flags.format, [info], {})) this.log(line);
      return info;
    }
    this.log(`Client: devbox
 Version:        ${info.Client.Version}
 Node.js:        ${info.Client.NodeVersion}
 OS/Arch:        ${info.Client.Os}/${info.Client.Arch}
 Kernel:         ${info.Client.KernelVersion}

Engine: devbox-helper (daemonless: each command is a short process)
 Version:        ${info.Engine.Version}
 Helper:         ${info.Engine.Helper}`);
    return info;
  }
}
