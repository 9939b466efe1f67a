import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The schema fuzz runs on its own (`npm run test:fuzz`, after `npm test` in .ci/run): beside the
    // other files it would slow them down for a minute or more.
    exclude: [...configDefaults.exclude, ...(process.env.PADDOCK_FUZZ ? [] : ['test/fuzz/**'])],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: a few files at once, each starting its own Paddock process.
    maxWorkers: 3,
  },
});
