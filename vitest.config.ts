import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      // Property tests run thousands of cases; on a loaded 2-core machine that takes more than the default 5 s.
      { test: { name: 'unit', include: ['src/**/*.test.ts', 'test/model/**/*.test.ts'], environment: 'node', testTimeout: 120_000, setupFiles: ['test/support/setup.ts'] } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          // One cluster, one operator per file: files run one after another.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
