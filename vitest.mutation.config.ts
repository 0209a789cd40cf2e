import { relative } from 'node:path';
import { defineConfig, mergeConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from './vitest.config.js';

/**
 * Failed files first, then the fastest: Stryker stops at a mutant's first
 * failing test, and vitest's default (the slowest file first) would run the
 * seconds-long fault-injection files before the unit tests that kill most
 * mutants in milliseconds.
 */
class FastestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const { cache, config } = this.ctx;
    const cost = (file: TestSpecification) => {
      const key = `${file.project.name}:${relative(config.root, file.moduleId)}`;
      const results = cache.getFileTestResults(key);
      return {
        failed: results?.failed === true,
        ms: results?.duration ?? cache.getFileStats(key)?.size ?? 0,
      };
    };
    return [...files].sort((a, b) => {
      const [ca, cb] = [cost(a), cost(b)];
      if (ca.failed !== cb.failed) return ca.failed ? -1 : 1;
      return ca.ms - cb.ms;
    });
  }
}

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
      sequence: { sequencer: FastestFirst },
    },
  }),
);
