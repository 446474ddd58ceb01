import { Args, Flags } from '@oclif/core';
import { DevboxCommand } from '../cli/base-command.js';
import { formatItems, parseTemplate } from '../cli/go-template.js';
import { listTags, type SearchResult, searchRegistry, type TagResult } from '../registry/search.js';
import { readSettings } from '../settings/settings.js';
import { usageError } from '../util/errors.js';

const HEADERS: Record<string, string> = {
  Index: 'INDEX',
  Name: 'NAME',
  Description: 'DESCRIPTION',
  Stars: 'STARS',
  Official: 'OFFICIAL',
  Automated: 'AUTOMATED',
  Tag: 'TAG',
};
/** docker search cuts descriptions to this width unless --no-trunc. */
const DESCRIPTION_WIDTH = 45;

/** docker search --filter: stars=N, is-official=BOOL, is-automated=BOOL; all must hold. */
function filterResults(results: SearchResult[], specs: readonly string[]): SearchResult[] {
  const tests = specs.map((spec): ((r: SearchResult) => boolean) => {
    const [key, value] = spec.split(/=(.*)/s, 2);
    if (key === 'stars' && /^\d+$/.test(value ?? '')) return (r) => r.Stars >= Number(value);
    if ((key === 'is-official' || key === 'is-automated') && (value === 'true' || value === 'false'))
      return (r) => (key === 'is-official' ? r.Official : r.Automated) === (value === 'true');
    throw usageError(`invalid filter "${spec}"`, 'use stars=N, is-official=true|false or is-automated=true|false');
  });
  return results.filter((r) => tests.every((t) => t(r)));
}

export default class Search extends DevboxCommand {
  static summary = 'Search a registry for images';
  static description =
    "TERM is [REGISTRY/]WORDS: a registry's catalog (/v2/_catalog) is searched for repositories whose name contains " +
    "WORDS; without a registry, Docker Hub's search. The registry's mirrors (registryMirrors) are asked first. " +
    '--list-tags lists the tags of the repository TERM names instead.';
  static examples = [
    '<%= config.bin %> search registry.example.org/postgres',
    '<%= config.bin %> search --limit 5 localhost:5000/',
    '<%= config.bin %> search --list-tags registry.example.org/team/app',
    '<%= config.bin %> search --format "{{.Name}}" localhost:5000/app',
  ];
  static enableJsonFlag = true;
  static args = { term: Args.string({ description: '[REGISTRY/]WORDS, or a repository with --list-tags', required: true }) };
  static flags = {
    limit: Flags.integer({ description: 'at most this many results', default: 25, min: 1 }),
    filter: Flags.string({ char: 'f', description: 'stars=N, is-official=BOOL, is-automated=BOOL', multiple: true, multipleNonGreedy: true }),
    format: Flags.string({ description: 'Go template, "table TEMPLATE" or "json"' }),
    'no-trunc': Flags.boolean({ description: 'do not cut descriptions short' }),
    'list-tags': Flags.boolean({ description: 'list the tags of the repository TERM names' }),
  };

  async run(): Promise<SearchResult[] | TagResult[]> {
    const { args, flags } = await this.parse(Search);
    if (flags.format && flags.format !== 'json') parseTemplate(flags.format.replace(/^table\s*/, '')); // a bad template fails before the registry is asked
    if (flags['list-tags'] && flags.filter?.length) throw usageError('--filter does not apply to --list-tags', 'drop one of them');
    const settings = readSettings();
    if (flags['list-tags']) {
      const tags = await listTags(args.term, flags.limit, settings);
      if (this.jsonEnabled()) return tags;
      for (const line of formatItems(flags.format ?? 'table {{.Name}}\t{{.Tag}}', tags, HEADERS)) this.log(line);
      return tags;
    }
    const results = filterResults(await searchRegistry(args.term, flags.limit, settings), flags.filter ?? []);
    if (this.jsonEnabled()) return results;
    const shown = results.map((r) => ({
      ...r,
      Description: !flags['no-trunc'] && r.Description.length > DESCRIPTION_WIDTH ? `${r.Description.slice(0, DESCRIPTION_WIDTH - 3)}...` : r.Description,
    }));
    for (const line of formatItems(flags.format ?? 'table {{.Name}}\t{{.Description}}', shown, HEADERS)) this.log(line);
    return results;
  }
}
