/**
 * The layering of src/ (docs/architecture.md): a folder imports only from folders below it in LAYERS, and
 * folders on the same row not from each other. `npm test` runs this check (npm run lint).
 */
const LAYERS = [
  // top
  ['commands'],
  ['cli'],
  ['project', 'doctor', 'container-files'],
  ['compose'],
  ['sandbox'],
  ['container'],
  ['volume'],
  ['builder'],
  ['registry'],
  ['image'],
  ['storage', 'network'],
  ['runtime'],
  ['userns'],
  ['settings'],
  ['util'],
  // bottom
];

const folders = LAYERS.flat();
const below = (row) => LAYERS.slice(row + 1).flat();

const forbidden = [
  {
    name: 'no-circular',
    comment: 'Modules that need each other are one concept split in two, or need a lower module.',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'src-not-tests',
    comment: 'The product never imports test or bench code.',
    severity: 'error',
    from: { path: '^src/' },
    to: { path: '^(test|bench)/' },
  },
  {
    name: 'known-folder',
    comment: 'Every folder of src/ has a place in the layer list of .dependency-cruiser.cjs.',
    severity: 'error',
    from: { path: `^src/(?!(${folders.join('|')})/)` },
    to: {},
  },
  ...LAYERS.flatMap((row, index) =>
    row.map((folder) => ({
      name: `layer-${folder}`,
      comment: `src/${folder}/ may import only from ${below(index).join(', ') || 'nothing else in src'} (imports point down)`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/${folder}/`, ...below(index).map((f) => `^src/${f}/`)] },
    })),
  ),
];

module.exports = {
  forbidden,
  options: {
    // `import type` couples layers as much as a value import does.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
  },
};
