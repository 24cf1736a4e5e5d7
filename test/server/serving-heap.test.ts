/**
 * The serving process's heap setting holds when set at run time: objects that each live through
 * one young collection (a request's, in a server under a burst) stay young, where V8's default
 * pretenures their allocation site and fills the old generation with them. Run in a child
 * process, so this worker's V8 keeps its defaults; the control run shows the workload does make
 * V8 pretenure, so the check can fail.
 */
import { describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';

const MODULE = new URL('../../src/server/serving-heap.ts', import.meta.url).href;

/** MB the old generation grew while 600 batches of 2,000 objects each survived one scavenge. */
async function oldGrowthMb(tuned: boolean): Promise<number> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    if (${tuned}) (await import(${JSON.stringify(MODULE)})).tuneHeapForServing();
    const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
    const batch = () => Array.from({ length: 2000 }, (_, i) => ({ a: i, b: [i, i + 1] }));
    let kept;
    const start = old();
    for (let k = 0; k < 600; k++) {
      const next = batch();
      kept = undefined;
      globalThis.gc({ type: 'minor' });
      kept = next;
    }
    process.stdout.write(String((old() - start) / 1e6));
  `;
  const run = await runProcess(
    process.execPath,
    // V8 pretenures from optimized code only: compiled on the main thread (--single-threaded),
    // when it is made does not depend on how loaded the machine is (with concurrent compilation
    // a loaded CI saw no pretenuring at all).
    [
      '--expose-gc',
      '--single-threaded',
      '--import',
      import.meta.resolve('tsx'),
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: import.meta.dirname, timeoutMs: 60_000 },
    `the heap probe (${tuned ? 'tuned' : 'defaults'})`,
  );
  const mb = Number(run.stdout);
  if (run.code !== 0 || run.stdout === '' || !Number.isFinite(mb))
    throw new Error(
      `the heap probe exited ${run.code} printing ${JSON.stringify(run.stdout)}: ${run.stderr}`,
    );
  return mb;
}

describe('the serving heap setting', () => {
  it('keeps objects that outlive one young collection young', { timeout: 120_000 }, async () => {
    const [defaults, tuned] = await Promise.all([oldGrowthMb(false), oldGrowthMb(true)]);
    // By default V8 pretenures the batches' site: megabytes go straight to the old generation.
    expect(defaults).toBeGreaterThan(3);
    expect(tuned).toBeLessThan(1);
  });
});
