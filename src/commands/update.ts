import { DevboxCommand } from '../cli/base-command.js';
import { LOCK_FILE } from '../project/discover.js';
import type { LockEntry } from '../project/lock-file.js';
import { updateProjectLock } from '../project/update.js';

function describe(entry: LockEntry | undefined): string {
  return entry === undefined ? 'none' : 'digest' in entry ? entry.digest : 'local';
}

export default class Update extends DevboxCommand {
  static summary = `Pull the project's base images and Dev Container Features again and pin their current digests in ${LOCK_FILE}`;
  static description =
    `Resolves the config's "image", or every image its Dockerfile's FROM and COPY --from name, from their registries and rewrites ${LOCK_FILE}. ` +
    'When a pin changed, the environment is rebuilt and its sandbox restarted on the next devbox shell or run. See docs/project-sandboxes.md.';
  static examples = ['<%= config.bin %> update'];

  async run(): Promise<void> {
    await this.parse(Update);
    const { lock, changed, featuresChanged } = await updateProjectLock();
    for (const [ref, entry] of Object.entries(lock.images)) this.log(`${ref} ${describe(entry)}`);
    for (const [ref, entry] of Object.entries(lock.features)) this.log(`${ref} ${entry.digest}`);
    for (const change of changed.filter((c) => c.after === undefined)) this.log(`${change.ref} dropped (no longer used)`);
    process.stderr.write(
      changed.length || featuresChanged
        ? `devbox: ${LOCK_FILE} updated; the environment is remade on the next devbox shell or run\n`
        : `devbox: ${LOCK_FILE} is up to date\n`,
    );
  }
}
