import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { setProcessTime, systemClock } from '../../src/core/index.js';

afterEach(() => setProcessTime(undefined));

/** `systemClock.now()` in a fresh process with `KEEL_NOW` set, and its stderr. */
function childNow(keelNow: string, prelude = ''): Promise<{ out: string; err: string }> {
  const src = join(import.meta.dirname, '..', '..', 'src', 'core', 'index.ts');
  const code = `${prelude}import('${src}').then((c) => { try { console.log(c.systemClock.now()); } catch (e) { console.error(e.code + ': ' + e.message); } })`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
      env: { ...process.env, KEEL_NOW: keelNow },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', () => resolve({ out, err }));
  });
}

describe('the process clock', () => {
  it('moves when told and runs on from there, and goes back to the real time', () => {
    const at = Date.UTC(2011, 10, 1, 9);
    setProcessTime(at);
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(at);
    expect(now - at).toBeLessThan(60_000);
    setProcessTime(undefined);
    expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
    expect(() => setProcessTime(Number.NaN)).toThrow(/finite/);
  });

  it('starts at KEEL_NOW in a new process, and names KEEL_NOW when it is not a time', async () => {
    const { out } = await childNow('2011-11-01T09:00:00Z');
    const now = Number(out.trim());
    expect(now).toBeGreaterThanOrEqual(Date.UTC(2011, 10, 1, 9));
    expect(now).toBeLessThan(Date.UTC(2011, 10, 1, 9) + 60_000);
    // A loaded machine: every read of the real time 5 ms after the one before. The first `now`
    // must still not read before KEEL_NOW.
    const slow = await childNow(
      '2011-11-01T09:00:00Z',
      'const real = Date.now; let reads = 0; Date.now = () => real() + 5 * reads++; ',
    );
    expect(Number(slow.out.trim())).toBeGreaterThanOrEqual(Date.UTC(2011, 10, 1, 9));
    const bad = await childNow('yesterday');
    expect(bad.err).toMatch(/INVALID_PARAMETER_VALUE: KEEL_NOW must be an ISO-8601 time/);
  });
});
