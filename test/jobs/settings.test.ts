/**
 * keel.yaml `jobs`: defaults, durations, environment overrides, refusals that name the key, and
 * a queue whose Redis does not answer failing at once with exit code 11 rather than waiting.
 */
import { describe, expect, it } from 'vitest';
import { isKeelError, type KeelConfig, loadConfig } from '../../src/core/index.js';
import { JobQueue, jobSettings } from '../../src/jobs/index.js';
import { tempDir } from '../helpers/temp.js';

const config = (jobs?: Record<string, unknown>): KeelConfig => ({
  ...loadConfig({ cwd: tempDir(), env: {} }),
  jobs,
});

describe('jobSettings', () => {
  it("fills BullMQ's defaults and reads durations as text or milliseconds", () => {
    expect(jobSettings(config(), {})).toMatchObject({
      redis: 'redis://127.0.0.1:6379',
      prefix: 'keel',
      lockDuration: 30_000,
      stalledInterval: 30_000,
      maxStalledCount: 1,
      attempts: 3,
      concurrency: 1,
    });
    expect(
      jobSettings(config({ lockDuration: '2s', stalledInterval: 500, retention: '1d' }), {}),
    ).toMatchObject({
      lockDuration: 2000,
      stalledInterval: 500,
      retention: 86_400_000,
    });
  });

  it('takes the Redis URL and the prefix from the environment over keel.yaml', () => {
    const s = jobSettings(config({ redis: 'redis://a:6379', prefix: 'p' }), {
      KEEL_JOBS_REDIS: 'redis://b:6380',
      KEEL_JOBS_PREFIX: 'q',
    });
    expect(s).toMatchObject({ redis: 'redis://b:6380', prefix: 'q' });
  });

  it.each([
    [{ redis: 'http://x' }, /redis/],
    [{ prefix: 'a b' }, /prefix/],
    [{ lockDuration: 'soon' }, /lockDuration/],
    [{ attempts: 0 }, /attempts/],
    [{ workers: 2 }, /workers/],
  ])('refuses %j naming the key', (jobs, message) => {
    let err: unknown;
    try {
      jobSettings(config(jobs), {});
    } catch (e) {
      err = e;
    }
    expect(isKeelError(err, 'INVALID_PARAMETER_VALUE')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it('fails at once, TEMPORARILY_UNAVAILABLE, when the Redis does not answer', async () => {
    const err = await JobQueue.open(config({ redis: 'redis://127.0.0.1:1' }), {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isKeelError(err, 'TEMPORARILY_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toMatch(/127\.0\.0\.1:1 does not answer/);
  });
});
