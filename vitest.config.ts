import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Sized for a loaded 2-core machine: CLI tests start child processes that load DuckDB and ONNX Runtime.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // expect.poll waits for background work (a log's writer thread starting, a swap): a second, its
    // default, is not enough on a loaded machine; a poll that never holds still fails, loudly.
    expect: { poll: { timeout: 30_000 } },
    // Two cores: more workers only fight over them.
    maxWorkers: 2,
  },
});
