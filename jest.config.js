// jest runs the suites as native ES modules (NestJS 12 is ESM-only): node is
// started with --experimental-vm-modules (see package.json) and @swc/jest
// compiles TypeScript with legacy decorators and their metadata, as tsc does.
/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

// ESM-only packages that CommonJS ones require: jest on Node 20 cannot
// require() an ES module, so @swc/jest compiles these to CommonJS. cookie is
// loaded by light-my-request (Fastify inject), content-disposition by
// @fastify/static (Swagger UI, the queue dashboard).
const ESM_ONLY = ['cookie', 'content-disposition'];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': swc,
    [`node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['@swc/jest', { module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
