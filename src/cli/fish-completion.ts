/**
 * fish completions for devbox, made from the commands oclif knows (oclif's autocomplete plugin does bash, zsh
 * and powershell only). The script completes command words level by level (`devbox container r<TAB>`) and
 * each command's flags; the word path typed so far is worked out by fish at completion time, so one static
 * script serves every command and alias.
 */

export interface CompletionFlag {
  name: string;
  char?: string;
  summary?: string;
  /** Takes a value (`--name NAME`) rather than being a switch. */
  takesValue: boolean;
  options?: readonly string[];
}

export interface CompletionCommand {
  /** oclif's id: words joined by ':' (`container:run`). */
  id: string;
  summary: string;
  flags: readonly CompletionFlag[];
}

/** A string as one fish single-quoted word. */
function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The first line of a summary, as fish shows one line per candidate. */
function oneLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0].trim();
}

/**
 * Command paths (`container:run`) and topics (`container`) are the words that extend a path; the function
 * walks the words typed after `devbox`, skipping flags, for as long as they extend a known path.
 */
function pathFunction(paths: readonly string[]): string {
  return [
    `set -g __devbox_paths ${paths.map(quote).join(' ')}`,
    'function __devbox_path --description "the devbox command words typed so far, joined by :"',
    '    set -l path',
    '    for word in (commandline -opc)[2..-1]',
    "        string match -q -- '-*' $word; and continue",
    '        set -l candidate (string join : $path $word)',
    '        contains -- $candidate $__devbox_paths; or break',
    '        set path $path $word',
    '    end',
    '    string join : $path',
    'end',
    'function __devbox_at --description "whether the words typed so far are exactly this command path"',
    '    test "$(__devbox_path)" = "$argv"',
    'end',
  ].join('\n');
}

export function fishCompletionScript(bin: string, commands: readonly CompletionCommand[], topics: ReadonlyMap<string, string>): string {
  const paths = new Set<string>();
  const words = new Map<string, Map<string, string>>(); // parent path → word → description
  const addWord = (id: string, description: string) => {
    const parts = id.split(':');
    for (let i = 1; i <= parts.length; i++) {
      const path = parts.slice(0, i).join(':');
      paths.add(path);
      const parent = parts.slice(0, i - 1).join(':');
      const siblings = words.get(parent) ?? new Map<string, string>();
      words.set(parent, siblings);
      if (!siblings.has(parts[i - 1]) || i === parts.length) siblings.set(parts[i - 1], i === parts.length ? description : (topics.get(path) ?? ''));
    }
  };
  for (const command of commands) addWord(command.id, oneLine(command.summary));
  const lines = [
    `# fish completions for ${bin}: ${bin} completion fish | source`,
    `complete -c ${bin} -e`,
    `complete -c ${bin} -f`,
    pathFunction([...paths].sort()),
  ];
  const at = (path: string) => `-n ${quote(path ? `__devbox_at ${path}` : '__devbox_at')}`;
  for (const [parent, children] of [...words].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [word, description] of [...children].sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`complete -c ${bin} ${at(parent)} -a ${quote(word)}${description ? ` -d ${quote(description)}` : ''}`);
  }
  for (const command of commands) {
    for (const flag of command.flags) {
      let line = `complete -c ${bin} ${at(command.id)} -l ${quote(flag.name)}`;
      if (flag.char) line += ` -s ${quote(flag.char)}`;
      if (flag.takesValue) line += flag.options?.length ? ` -x -a ${quote(flag.options.join(' '))}` : ' -r -F';
      if (flag.summary) line += ` -d ${quote(oneLine(flag.summary))}`;
      lines.push(line);
    }
  }
  return `${lines.join('\n')}\n`;
}
