import { createWriteStream } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { exportContainer } from '../container-files/export.js';
import { openContainer } from '../container-files/target.js';
import { DevboxError } from '../util/errors.js';

export default class Export extends DevboxCommand {
  static summary = "Write a container's file system as a tar archive, as docker export does";
  static description = 'Its own files, flattened; volumes and other mounts are left out, their mount points empty. devbox import makes an image of it again.';
  static aliases = ['container:export'];
  static examples = ['<%= config.bin %> export web > web.tar', '<%= config.bin %> export -o web.tar web'];
  static args = { container: Args.string({ description: 'container name or id', required: true }) };
  static flags = { output: Flags.string({ char: 'o', description: 'write to this file instead of stdout' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Export);
    if (!flags.output && process.stdout.isTTY) {
      throw new DevboxError('cowardly refusing to save to a terminal', { fix: 'use the -o flag or redirect', kind: 'usage' });
    }
    const container = await openContainer(args.container);
    await exportContainer(container, flags.output ? createWriteStream(flags.output, { mode: 0o644 }) : process.stdout);
  }
}
