import { DevboxCommand } from '../cli/base-command.js';
import { runChecks, type CheckResult } from '../doctor/checks.js';

export default class Doctor extends DevboxCommand {
  static summary = 'Check that this machine can run rootless sandboxes, with the fix for anything missing';
  static examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];
  static enableJsonFlag = true;

  async run(): Promise<CheckResult[]> {
    await this.parse(Doctor);
    const results = await runChecks();
    for (const r of results) {
      const mark = r.ok ? 'ok  ' : r.required ? 'FAIL' : 'warn';
      this.log(`${mark} ${r.name}: ${r.detail}${r.ok || !r.fix ? '' : `\n     fix: ${r.fix}`}`);
    }
    if (results.some((r) => r.required && !r.ok)) process.exitCode = 1;
    return results;
  }
}
