import { Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { runChecks } from '../doctor/checks.js';

export default class Doctor extends DevboxCommand {
  static summary = 'Check that this machine can run rootless sandboxes, with the fix for anything missing';
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];
  static flags = { json: Flags.boolean({ description: 'print the checks as JSON' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const results = await runChecks();
    if (flags.json) this.log(JSON.stringify(results, null, 2));
    else {
      for (const r of results) {
        const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
        this.log(`${mark} ${r.name}: ${r.detail}${r.ok || !r.fix ? '' : `\n     fix: ${r.fix}`}`);
      }
    }
    if (results.some((r) => r.required && !r.ok)) process.exitCode = 1;
  }
}
