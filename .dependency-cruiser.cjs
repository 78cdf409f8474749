// The layer rules of DESIGN.md §2, checked by `npm run lint:layers` (scripts/lint-layers.sh).
// Paths are relative to the repository root.
const STAGES = '(host|shim|sidecar|kernel|hcl|hv)';

module.exports = {
  forbidden: [
    {
      name: 'stage-to-stage',
      comment: 'A stage imports abi/ and the formats below it, never another stage; harness/pipeline.ts wires stages.',
      severity: 'error',
      from: { path: `^lib/${STAGES}/` },
      to: { path: `^lib/${STAGES}/`, pathNot: '^lib/$1/' },
    },
    {
      name: 'stage-imports-above',
      comment: 'Stages sit below snapshot/, store/ and diff/: they import abi/, bytes/, fdt/, igvm/, config/, memory/, state/, errors, faults.',
      severity: 'error',
      from: { path: `^lib/${STAGES}/` },
      to: { path: '^lib/(snapshot|store|diff)/' },
    },
    {
      name: 'abi-imports-only-formats',
      comment: 'A byte contract depends on nothing but the formats below it.',
      severity: 'error',
      from: { path: '^lib/abi/' },
      to: { path: '^lib/', pathNot: '^lib/(abi|bytes|memory|fdt)/|^lib/errors\\.ts$' },
    },
    {
      name: 'state-imports-no-stage',
      comment: 'state/ is unit machinery; which units exist is snapshot/registry.ts.',
      severity: 'error',
      from: { path: '^lib/state/' },
      to: { path: `^lib/(${STAGES.slice(1, -1)}|snapshot|store|diff)/` },
    },
    {
      name: 'lib-imports-no-harness',
      comment: 'The engine never imports the harness, the property suites, the tests or the CLI.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(harness|properties|test|snapshots)/|^cli\\.ts$' },
    },
    {
      name: 'lib-folder-through-index',
      comment: "Inside lib/, an import from another folder goes through that folder's index.ts. One exception: " +
        "state/codec.ts, the canonical msgpack codec every store read needs, is imported directly, since the bundle " +
        'evaluates all of an index it touches and state/index.ts brings TypeBox (249 modules) to `hclckpt ls`.',
      severity: 'error',
      from: { path: '^lib/([^/]+)/' },
      to: { path: '^lib/[^/]+/', pathNot: ['^lib/$1/', '^lib/[^/]+/index\\.ts$', '^lib/state/codec\\.ts$'] },
    },
    {
      name: 'harness-through-index',
      comment: "harness/ and cli.ts use lib/ through each folder's index.ts (tests may import deeper).",
      severity: 'error',
      from: { path: '^(harness/|cli\\.ts$)' },
      to: { path: '^lib/[^/]+/', pathNot: '^lib/[^/]+/index\\.ts$' },
    },
    {
      name: 'properties-through-index',
      comment: "The property suites (not their *.test.ts files) use lib/ through each folder's index.ts, as harness/ does.",
      severity: 'error',
      from: { path: '^properties/', pathNot: '\\.test\\.ts$' },
      to: { path: '^lib/[^/]+/', pathNot: '^lib/[^/]+/index\\.ts$' },
    },
    {
      name: 'no-cycle',
      comment: 'No import cycles between files.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^node_modules/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js'] },
  },
};
