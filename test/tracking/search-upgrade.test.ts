/**
 * A store from before migration 102 (the latest-metrics-by-key index) takes the migration with
 * its runs in place, and a search sorted and filtered by a metric then finds them in MLflow's
 * order, on SQLite and PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/artifacts/index.js';
import { migrate } from '../../src/storage/index.js';
import { Tracking, trackingMigrations } from '../../src/tracking/index.js';
import { serviceUrl } from '../helpers/services.js';
import { type Backend, openTestDatabase, tempDir } from '../helpers/tracking.js';

const pgUrl = await serviceUrl('postgres');
const backends: Array<[Backend, string | undefined]> = [['sqlite', undefined]];
if (pgUrl) backends.push(['postgres', pgUrl]);

describe.each(backends)('a tracking store from before migration 102 on %s', (backend, url) => {
  it('takes the migration, then searches by a metric in MLflow order', async () => {
    const { db, cleanup } = await openTestDatabase(backend, url);
    try {
      await migrate(
        db,
        trackingMigrations.filter((m) => m.version < 102),
      );
      const tracking = new Tracking(db, new LocalArtifactStore(tempDir()));
      const exp = await tracking.experiments.create('old');
      const values = [0.3, Number.NaN, 0.9, undefined, -2, 0.3];
      for (const [i, value] of values.entries()) {
        const { info } = await tracking.runs.create({ experimentId: exp, runName: `run-${i}`, startTime: i });
        if (value !== undefined)
          await tracking.runs.logBatch(info.run_id, {
            metrics: [{ key: 'loss', value, timestamp: 1, step: 0 }],
          });
      }
      const search = async () => ({
        sorted: (
          await tracking.runs.search({ experimentIds: [exp], orderBy: ['metrics.loss ASC'] })
        ).items.map((r) => r.info.run_name),
        filtered: (
          await tracking.runs.search({ experimentIds: [exp], filter: 'metrics.loss >= 0.3', maxResults: 2 })
        ).items.map((r) => r.info.run_name),
      });
      expect(await migrate(db, trackingMigrations)).toEqual([102]);
      expect(await search()).toEqual({
        sorted: ['run-4', 'run-5', 'run-0', 'run-2', 'run-1', 'run-3'],
        filtered: ['run-5', 'run-2'],
      });
    } finally {
      await cleanup();
    }
  });
});
