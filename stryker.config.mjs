// npm run mutation: mutation testing of the orchestrator, the providers, the
// errors, the HTTP layer, the metrics hook sets, the doctor, the rollout and
// break-glass access (not in CI: it takes long). Scores go in the README.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/orchestrator/**/*.ts',
    'src/providers/**/*.ts',
    'src/errors/**/*.ts',
    'src/http/**/*.ts',
    'src/prometheus/**/*.ts',
    'src/opentelemetry/**/*.ts',
    'src/doctor/**/*.ts',
    'src/rollout/**/*.ts',
    'src/emergency/**/*.ts',
    // Run as a process by one test only: the runner cannot see its mutants.
    '!src/doctor/cli.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10_000,
  incremental: true,
  incrementalFile: '.tmp/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: '.tmp/mutation/index.html' },
  jsonReporter: { fileName: '.tmp/mutation/mutation.json' },
  tempDirName: '.tmp/stryker',
  thresholds: { high: 90, low: 80, break: null },
};
