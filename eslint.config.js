import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The modules of src/, lowest first, and what each may import (infra and the
 * generated Prisma client aside, a module imports only those it names, all
 * below it). Dependencies run one way: the order is explained in
 * docs/architecture.md. `room` (the waiting room) and `overload` (overload
 * control) are placed ahead of their code. The composition roots (src/*.ts)
 * and `demo` may import any module; `testing` only unit specs may import.
 */
const MODULES = {
  infra: [],
  overload: [],
  users: [],
  auth: ['users'],
  events: [],
  gate: [],
  inventory: ['events'],
  sales: ['auth', 'gate', 'inventory'],
  orders: ['auth', 'events', 'gate', 'sales'],
  notifications: ['auth', 'events', 'users', 'sales', 'orders'],
  bots: ['users', 'auth', 'sales'],
  room: ['overload', 'auth', 'gate', 'sales', 'bots'],
  purchase: ['overload', 'auth', 'gate', 'sales', 'room'],
  'sale-admin': ['auth', 'events', 'gate', 'inventory', 'sales', 'orders', 'bots', 'room'],
  ops: [
    'overload',
    'users',
    'auth',
    'events',
    'gate',
    'inventory',
    'sales',
    'orders',
    'notifications',
    'bots',
    'room',
    'purchase',
    'sale-admin',
  ],
};
const ROOTS = ['app.module', 'worker.module', 'http-app', 'main', 'worker', 'migrate'];
/** Deepest folder level inside a module that the rule covers (src/<module>/a/b/c/d/e.ts). */
const MAX_DEPTH = 5;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * no-restricted-imports for each module and folder depth: an import that
 * climbs out of the module (`../` as often as the file is deep, plus one) may
 * only name a module it is allowed to import, never a composition root or
 * another module's repository; only specs may import `testing`.
 */
function moduleEdges() {
  const names = Object.keys(MODULES);
  const configs = [];
  for (const [module, allowed] of Object.entries(MODULES)) {
    const may = ['infra', ...allowed].filter((m) => m !== module);
    const forbidden = names.filter((m) => m !== module && !may.includes(m));
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      const out = `^${'\\.\\./'.repeat(depth + 1)}`;
      const patterns = [
        {
          regex: `${out}(${[...forbidden, 'demo'].map(escape).join('|')})/`,
          message: `${module} may import only ${may.join(', ')}: dependencies run one way (docs/architecture.md).`,
        },
        {
          regex: `${out}(${ROOTS.map(escape).join('|')})\\.js$`,
          message: 'The composition roots import the modules, never the reverse.',
        },
        {
          regex: `${out}(?!${escape(module)}/)[a-z-]+/(.+/)?[\\w.-]+\\.repository\\.js$`,
          message: "Another module's data goes through its exported service or query, never its repository.",
        },
      ];
      const testing = { regex: `${out}testing/`, message: 'Only unit specs import src/testing.' };
      const files = `src/${module}/${'*/'.repeat(depth)}`;
      configs.push(
        {
          files: [`${files}*.ts`],
          rules: { 'no-restricted-imports': ['error', { patterns: [...patterns, testing] }] },
        },
        { files: [`${files}*.spec.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } },
      );
    }
  }
  configs.push({
    files: ['src/*.ts'],
    ignores: ['src/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\./testing/', message: 'Only unit specs import src/testing.' }] },
      ],
    },
  });
  return configs;
}

/**
 * Jobs go in through QueueService only (enqueue, enqueueBulk, relay): typed by
 * JobData and routed by JOB_QUEUE / EVENT_CONSUMERS. Outside src/infra/queues
 * nothing adds to a BullMQ queue itself (QueueService.queue() gives a
 * QueueView without add/addBulk; this rule catches the other ways in).
 */
const ONE_WAY_IN =
  'Jobs go in through QueueService (enqueue, enqueueBulk, relay): typed by JobData, routed by JOB_QUEUE (docs/architecture.md).';
const typedJobs = {
  files: ['src/**/*.ts'],
  ignores: ['src/infra/queues/**'],
  rules: {
    'no-restricted-syntax': [
      'error',
      { selector: "CallExpression[callee.property.name='addBulk']", message: ONE_WAY_IN },
      {
        selector:
          "CallExpression[callee.property.name=/^(add|addJob)$/][callee.object.type='CallExpression'][callee.object.callee.property.name='queue']",
        message: ONE_WAY_IN,
      },
    ],
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        paths: [
          { name: 'bullmq', importNames: ['Queue', 'FlowProducer'], allowTypeImports: true, message: ONE_WAY_IN },
          { name: '@nestjs/bullmq', importNames: ['InjectQueue', 'getQueueToken'], message: ONE_WAY_IN },
        ],
      },
    ],
  },
};

export default tseslint.config(
  {
    ignores: ['dist/', 'dist-bench/', 'src/generated/', 'node_modules/', 'coverage/', 'bench/results/', 'test-output/'],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...moduleEdges(),
  typedJobs,
  {
    // The admin pages' scripts run in the browser (no build step).
    files: ['static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['document', 'location', 'fetch', 'FormData', 'EventSource', 'Intl', 'console'].map((name) => [
          name,
          'readonly',
        ]),
      ),
    },
  },
  {
    // The shopper's page (static/shop) uses a few more of the browser's globals.
    files: ['static/shop/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'sessionStorage',
          'URLSearchParams',
          'TextDecoderStream',
          'AbortController',
          'crypto',
          'setTimeout',
          'clearTimeout',
          'setInterval',
          'Worker',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ignores: ['static/**'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'URL', 'fetch', 'setTimeout'].map((name) => [name, 'readonly']),
      ),
    },
  },
);
