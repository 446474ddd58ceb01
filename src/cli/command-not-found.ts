/**
 * oclif's command_not_found hook: one line naming the word that is no command, with the closest command (by
 * edit distance) as the fix, and status 127 as a shell gives for an unknown command. @oclif/plugin-not-found
 * asks a question on a terminal and says nothing useful elsewhere (a script, an editor's task runner).
 */
import type { Hook } from '@oclif/core';
import { closest, distance } from 'fastest-levenshtein';
import { type DevboxError, usageError } from '../util/errors.js';
import { reportError } from './report.js';

/** A suggestion further than this from what was typed is a guess, not a typo. */
const MAX_DISTANCE = 3;

/** The command closest to `typed` (spaces between topic and command), or undefined when none is near. */
export function suggestCommand(typed: string, commands: readonly string[]): string | undefined {
  if (!commands.length) return undefined;
  const best = closest(typed, [...commands]);
  return distance(typed, best) <= MAX_DISTANCE ? best : undefined;
}

const hook: Hook.CommandNotFound = async function (options) {
  const separator = options.config.topicSeparator;
  const typed = options.id.replaceAll(':', separator);
  const visible = options.config.commands.filter((c) => !c.hidden);
  const names = [...visible.map((c) => c.id), ...visible.flatMap((c) => c.aliases)].map((id) => id.replaceAll(':', separator));
  const suggestion = suggestCommand(typed, names);
  const error: DevboxError = usageError(
    `"${typed}" is not a devbox command`,
    suggestion ? `did you mean "devbox ${suggestion}"? devbox help lists them all` : 'devbox help lists the commands',
  );
  reportError(error);
  this.exit(127);
};

export default hook;
