/**
 * VS Code workspace settings that open every integrated terminal, task and debug terminal inside the
 * project's sandbox. Merged into an existing .vscode/settings.json with jsonc-parser's edits, so the
 * user's comments, order and other settings stay as they were.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { applyEdits, modify, type FormattingOptions, type JSONPath } from 'jsonc-parser';
import { DevboxError } from '../util/errors.js';
import { parseConfigText } from './config-file.js';
import { writeFilesAtomically } from './write-files.js';

const VSCODE_PROFILE = 'devbox';

/** The settings devbox owns, each as a JSON path in settings.json and its value. */
function vscodeSettings(devbox: string): [JSONPath, unknown][] {
  return [
    // A profile that runs `devbox shell`, made the default for new terminals. Set key by key, so that
    // what the user added to the profile (color, env) stays.
    [['terminal.integrated.profiles.linux', VSCODE_PROFILE, 'path'], devbox],
    [['terminal.integrated.profiles.linux', VSCODE_PROFILE, 'args'], ['shell']],
    [['terminal.integrated.defaultProfile.linux'], VSCODE_PROFILE],
    // Tasks and debug terminals: VS Code runs a shell task as PATH ARGS... -c "COMMAND", which makes it
    // `devbox run sh -c "COMMAND"`.
    [['terminal.integrated.automationProfile.linux'], { path: devbox, args: ['run', 'sh'] }],
    // devbox.json may hold comments, as devcontainer.json does.
    [['files.associations', 'devbox.json'], 'jsonc'],
  ];
}

function valueAt(value: unknown, path: JSONPath): unknown {
  let current = value;
  for (const segment of path) current = current !== null && typeof current === 'object' ? (current as Record<string | number, unknown>)[segment] : undefined;
  return current;
}

/** Indentation and line ends as the file already has them, so our edits look like the user's. */
function formattingOf(text: string): FormattingOptions {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /^([ \t]+)\S/m.exec(text)?.[1];
  if (indent?.startsWith('\t')) return { insertSpaces: false, tabSize: 4, eol };
  return { insertSpaces: true, tabSize: indent?.length ?? 4, eol };
}

/** settings.json text with devbox's settings merged in (the input unchanged when they are already there). */
export function mergeVscodeSettings(path: string, text: string, devbox: string): string {
  const file = parseConfigText(path, text);
  if (file.value !== undefined && (typeof file.value !== 'object' || file.value === null || Array.isArray(file.value))) {
    throw new DevboxError(`${path}: VS Code settings must be a JSON object`, { fix: 'fix the file, or move it away and run this again' });
  }
  let merged = text.trim() === '' ? '{}' : text;
  const formattingOptions = formattingOf(merged);
  for (const [jsonPath, value] of vscodeSettings(devbox)) {
    if (isDeepStrictEqual(valueAt(file.value, jsonPath), value)) continue;
    merged = applyEdits(merged, modify(merged, jsonPath, value, { formattingOptions }));
  }
  return merged.endsWith(formattingOptions.eol!) ? merged : merged + formattingOptions.eol;
}

/** Writes the settings into ROOT/.vscode/settings.json; returns its path and whether it changed. */
export async function configureVscode(root: string, devbox: string): Promise<{ path: string; changed: boolean }> {
  const path = join(root, '.vscode', 'settings.json');
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const merged = mergeVscodeSettings(path, text, devbox);
  if (merged === text) return { path, changed: false };
  await writeFilesAtomically([[path, merged]]);
  return { path, changed: true };
}
