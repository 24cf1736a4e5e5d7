/**
 * `keel predictions show` as a user runs it, as a child process over a project whose prediction
 * log was written by the library: counts per version (the canary's too), the latest rows with
 * their labels, `--since`, and the exit codes of a bad time and of a model never logged.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../../../src/cli/commands/predictions.js';
import { PredictionLog } from '../../../src/monitoring/index.js';
import { keel } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';

describe('keel predictions show', () => {
  const cwd = tempDir();
  const now = Date.now();

  beforeAll(async () => {
    const log = new PredictionLog({ home: join(cwd, '.keel') });
    const entry = (requestId: string, version: string, ageMs: number, rows: number) => ({
      timestamp: now - ageMs,
      requestId,
      model: 'churn',
      version,
      canary: version === '2',
      latencyMs: 1.25,
      scores: Array.from({ length: rows }, (_, i) => 0.1 * (i + 1)),
      inputs: { columns: ['tenure'], values: new Float32Array(rows).fill(3) },
    });
    log.append(entry('old', '1', 3 * 3_600_000, 3));
    log.append(entry('a', '1', 60_000, 1));
    log.append(entry('b', '2', 30_000, 2));
    log.recordFeedback([{ timestamp: now, requestId: 'b', row: 1, label: 1 }]);
    await log.close();
  });

  it('prints rows and requests per version and the latest rows, as JSON', () => {
    const res = keel(['predictions', 'show', '--model', 'churn', '--last', '2', '--json'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.versions).toEqual([
      { version: '1', rows: 4, requests: 2, canaryRows: 0, first: now - 3 * 3_600_000, last: now - 60_000 },
      { version: '2', rows: 2, requests: 1, canaryRows: 2, first: now - 30_000, last: now - 30_000 },
    ]);
    expect(
      out.latest.map((p: { requestId: string; row: number; label: number | null }) => [
        p.requestId,
        p.row,
        p.label,
      ]),
    ).toEqual([
      ['b', 0, null],
      ['b', 1, 1],
    ]);
  });

  it('prints tables, and only the window --since asks for', () => {
    const res = keel(['predictions', 'show', '--model', 'churn', '--since', '2h'], { cwd });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^churn: 3 rows logged\n/);
    expect(res.stdout).toMatch(/^1\s+1\s+1\s+0\s/m);
    expect(res.stdout).toMatch(/^2\s+2\s+1\s+2\s/m);
    expect(res.stdout).toMatch(/latest 3 rows:/);
    expect(res.stdout).not.toMatch(/ old /);
  });

  it('exits 2 for a bad time and 4 for a model never logged', () => {
    const bad = keel(['predictions', 'show', '--model', 'churn', '--since', 'yesterday'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--since must be an ISO date or time/);
    const none = keel(['predictions', 'show', '--model', 'fraud'], { cwd });
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/no predictions of model 'fraud' are logged under /);
  });

  it('reads durations back from now and ISO times', () => {
    expect(parseSince('--since', '90m', 10_000_000)).toBe(10_000_000 - 5_400_000);
    expect(parseSince('--since', '2024-05-01')).toBe(Date.UTC(2024, 4, 1));
  });
});
