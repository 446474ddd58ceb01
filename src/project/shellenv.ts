/**
 * `devbox shellenv`: shell code that enters a project's sandbox in terminals that open in it (or cd into
 * it), the way direnv loads a folder's environment. The hook runs before each prompt: in a project it has
 * not entered yet it runs `devbox shell`; `exit` comes back to the host shell, which stays there until
 * the terminal leaves the project and comes back. The project test is done in the shell itself (a few
 * file tests per folder up to /), because starting devbox before every prompt would cost ~0.3 s.
 */
import { CONFIG_NAMES } from './discover.js';

export const SHELLENV_SHELLS = ['bash', 'zsh', 'fish', 'direnv'] as const;
export type ShellenvShell = (typeof SHELLENV_SHELLS)[number];

/** Set inside every sandbox (by the sandbox lifecycle): the hook never nests a sandbox in a sandbox. */
export const SANDBOX_MARKER_VARIABLE = 'DEVBOX_PROJECT';
/** 0 turns the hook off (e.g. in your rc file), 1 turns it back on (e.g. in a folder's .envrc). */
export const AUTO_SHELL_VARIABLE = 'DEVBOX_AUTO_SHELL';

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

function posixHook(devbox: string): string {
  const tests = CONFIG_NAMES.map(({ name }) => `[ -f "$dir/${name}" ]`).join(' || ');
  return `_devbox_project_root() {
  local dir="$PWD"
  while :; do
    if ${tests}; then printf '%s\\n' "$dir"; return 0; fi
    [ -z "$dir" ] || [ "$dir" = / ] && return 1
    dir="\${dir%/*}"; [ -n "$dir" ] || dir=/
  done
}
_devbox_auto_shell() {
  [ -n "\${${SANDBOX_MARKER_VARIABLE}:-}" ] && return
  [ "\${${AUTO_SHELL_VARIABLE}:-1}" = 0 ] && return
  local root
  if ! root="$(_devbox_project_root)"; then _devbox_entered=; return; fi
  [ "$root" = "\${_devbox_entered:-}" ] && return
  _devbox_entered="$root"
  ${shellQuote(devbox)} shell
}`;
}

function fishHook(devbox: string): string {
  const tests = CONFIG_NAMES.map(({ name }) => `-f "$dir/${name}"`).join(' -o ');
  return `function __devbox_auto_shell --on-event fish_prompt
    set -q ${SANDBOX_MARKER_VARIABLE}; and return
    test "$${AUTO_SHELL_VARIABLE}" = 0; and return
    set -l dir $PWD
    set -l root
    while true
        if test ${tests}
            set root $dir
            break
        end
        test "$dir" = /; and break
        set dir (string replace -r '/[^/]*$' '' -- $dir)
        test -n "$dir"; or set dir /
    end
    if test -z "$root"
        set -g __devbox_entered
        return
    end
    test "$root" = "$__devbox_entered"; and return
    set -g __devbox_entered $root
    ${shellQuote(devbox)} shell
end`;
}

export function shellenvSnippet(shell: ShellenvShell, devbox: string): string {
  switch (shell) {
    case 'bash':
      // Appended, so that it runs after direnv's hook (which may set ${AUTO_SHELL_VARIABLE} for this folder).
      return `${posixHook(devbox)}
PROMPT_COMMAND="\${PROMPT_COMMAND:+$PROMPT_COMMAND;}_devbox_auto_shell"
`;
    case 'zsh':
      return `${posixHook(devbox)}
autoload -Uz add-zsh-hook
add-zsh-hook precmd _devbox_auto_shell
`;
    case 'fish':
      return `${fishHook(devbox)}\n`;
    case 'direnv':
      // direnv sets variables; it cannot start a shell. With the hook in the rc file and
      // ${AUTO_SHELL_VARIABLE}=0 there, only folders with this .envrc enter their sandbox.
      return `# .envrc: enter this project's devbox sandbox in new terminals (with the devbox shellenv hook loaded after direnv's)
export ${AUTO_SHELL_VARIABLE}=1
`;
  }
}
