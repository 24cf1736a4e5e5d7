/**
 * The seeded fuzzer against the whole server on SQLite and on PostgreSQL: a bounded count of
 * broken requests over every route, with 0 answers of 500 or more, and the server answering
 * after. `KEEL_FUZZ_COUNT` and `KEEL_FUZZ_SEED` change the run; `bench/security/fuzz.ts` runs long.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, serviceUrl } from '../helpers/services.js';
import type { Backend } from '../helpers/tracking.js';
import { fuzz } from './fuzz.js';
import { rawRequest } from './raw-http.js';
import { securityWorld, type World } from './world.js';

const COUNT = Number(process.env.KEEL_FUZZ_COUNT ?? 1500);
const SEED = Number(process.env.KEEL_FUZZ_SEED ?? 20_240_610);

const postgres = await serviceUrl('postgres');

for (const backend of ['sqlite', 'postgres'] as Backend[]) {
  describe.skipIf(backend === 'postgres' && !postgres)(`fuzzing every route on ${backend}`, () => {
    let w: World;
    beforeAll(async () => {
      w = await securityWorld(backend, backend === 'postgres' ? (postgres ?? POSTGRES_URL) : undefined, {
        auth: true,
      });
    }, 120_000);
    afterAll(async () => w?.close());

    it(`answers ${COUNT} fuzzed requests without a 5xx, and still answers after`, async () => {
      const report = await fuzz(w, { seed: SEED, count: COUNT });
      expect(report.failures).toEqual([]);
      // The fuzz reached the handlers: most requests were authenticated and refused as bad input.
      expect(report.statuses[400] ?? 0).toBeGreaterThan(COUNT / 5);
      expect((await rawRequest(w.url, 'GET', '/health')).status).toBe(200);
      const search = await rawRequest(w.url, 'GET', '/api/2.0/mlflow/experiments/search?max_results=5', {
        headers: { authorization: `Bearer ${w.tokens.reader}` },
      });
      expect(search.status).toBe(200);
    }, 600_000);
  });
}
