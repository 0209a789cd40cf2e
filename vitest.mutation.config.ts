import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The suite as Stryker runs it for each mutant (npm run mutation): the same
// tests, without the type tests and without the two files that exercise only
// what is not mutated (child processes of the verifier, the embedded server's
// binaries as root).
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        'test/unit/verifier-exit.test.ts',
        'test/integration/embedded-postgres-root.test.ts',
      ],
      typecheck: { enabled: false },
      reporters: ['default'],
    },
  }),
);
