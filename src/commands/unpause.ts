import Pause from './pause.js';

/** `pause` undone: the same freezer, so the same refusal where there is none. */
export default class Unpause extends Pause {
  static summary = 'Unpause paused containers (needs a cgroup freezer: a delegated cgroup v2)';
  static aliases = ['container:unpause'];
  static examples = ['<%= config.bin %> unpause web'];
  // oclif reads these of each class itself, not through the parent: restated.
  static description = Pause.description;
  static strict = Pause.strict;
  static args = Pause.args;
  protected verb = 'unpause' as const;
}
