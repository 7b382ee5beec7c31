import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      // Property tests run thousands of cases; on a loaded 2-core machine that takes more than the default 5 s.
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'test/model/**/*.test.ts', 'bench/**/*.test.ts'], environment: 'node', testTimeout: 120_000, setupFiles: ['test/support/setup.ts'] } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Their own cluster, inside a network namespace: hack/dataplane.sh runs them.
          exclude: ['test/e2e/dataplane/**'],
          environment: 'node',
          // One cluster, one operator per file: files run one after another.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'dataplane',
          include: ['test/e2e/dataplane/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
