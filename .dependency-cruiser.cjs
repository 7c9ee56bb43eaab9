// The import rules of the code base (docs/architecture.md), checked in CI by `pnpm deps`.
// Layers of each package, bottom to top: a module may import its own layer and those below, never
// one above. Cycles are refused between files and between folders alike.
const PACKAGES = {
  'packages/core/src/': [
    ['errors.ts', 'util/'],
    ['records/'],
    ['declarations/', 'ssh/'],
    ['state/', 'sync/', 'hosts/', 'extensions/contract\\.ts', 'extensions/inputs\\.ts'],
    ['extensions/builtin/', 'metering/'],
    ['extensions/instantiate\\.ts', 'catalog/'],
    ['routing/', 'reach/'],
    ['lifecycle/'],
    ['gc/', 'snapshots/'],
    ['manager/'],
    ['open-manager\\.ts', 'index\\.ts', 'reader\\.ts', 'testing/'],
  ],
  'packages/cli/src/': [
    [
      'output\\.ts',
      'exit-codes\\.ts',
      'error-terms\\.ts',
      'signals\\.ts',
      'context\\.ts',
      'records\\.ts',
      'record-flags\\.ts',
      'cli-options\\.ts',
    ],
    ['commands/'],
    ['cli\\.ts', 'cli-reach\\.ts', 'cli-snapshots\\.ts', 'cli-admin\\.ts'],
    ['index\\.ts'],
  ],
  'packages/server/src/': [
    [
      'route-helpers\\.ts',
      'schemas\\.ts',
      'http-errors\\.ts',
      'operations\\.ts',
      'auth/',
      'route-context\\.ts',
    ],
    ['[a-z]+-routes\\.ts'],
    ['app\\.ts'],
    ['server\\.ts'],
    ['index\\.ts'],
  ],
  'packages/client/src/': [['connection\\.ts'], ['remote-service\\.ts'], ['index\\.ts']],
  'actions/sandbox/src/': [
    [
      'inputs\\.ts',
      'state\\.ts',
      'context\\.ts',
      'summary\\.ts',
      'error-terms\\.ts',
      'keeper\\.ts',
      'ssh-config\\.ts',
    ],
    ['main\\.ts', 'post\\.ts'],
    ['run\\.ts'],
    ['index\\.ts'],
  ],
};

const upward = Object.entries(PACKAGES).flatMap(([root, layers]) => {
  const pattern = (parts) => `^${root}(${parts.join('|')})`;
  return layers.slice(0, -1).map((layer, index) => ({
    name: `${root.split('/')[1]}-layer-${index}-imports-above`,
    comment: `${root}: ${layer.join(', ')} may import only its own layer and the ones below`,
    severity: 'error',
    from: { path: pattern(layer) },
    to: { path: pattern(layers.slice(index + 1).flat()) },
  }));
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'files that import each other, directly or through others',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'folders whose files import each other, in either direction',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'surfaces-do-not-import-each-other',
      comment: 'the server and the action stand beside the CLI; only the CLI opens the server',
      severity: 'error',
      from: { path: '^(packages/server|actions)/' },
      to: { path: '^(packages/cli|packages/server|actions)/', pathNot: '^$1/' },
    },
    {
      name: 'core-imports-no-surface',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { path: '^(packages/(cli|server|client)|actions)/' },
    },
    {
      name: 'client-imports-only-core',
      comment: 'the client speaks HTTP to a server; it never loads one, nor a surface',
      severity: 'error',
      from: { path: '^packages/client/src/' },
      to: { path: '^(packages/(cli|server)|actions)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
  },
};
