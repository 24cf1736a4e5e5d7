import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { Lease, schedulerMigrations } from '../../src/scheduler/index.js';
import { migrate, type SqlDatabase } from '../../src/storage/index.js';
import { serviceUrl } from '../helpers/services.js';
import { openTestDatabase } from '../helpers/tracking.js';

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`the scheduler's lease (${backend})`, async () => {
    const pg = backend === 'postgres' ? await serviceUrl('postgres') : undefined;
    const run = backend === 'sqlite' || pg !== undefined;
    let db: SqlDatabase;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      if (!run) return;
      ({ db, cleanup } = await openTestDatabase(backend, pg));
      await migrate(db, schedulerMigrations);
    });
    afterAll(async () => cleanup?.());

    it.skipIf(!run)(
      'has one holder; another takes it only once it expires, or at once when released',
      async () => {
        const clock = new ManualClock(1_000_000);
        const a = new Lease(db, 'scheduler', 'a', 15_000, clock);
        const b = new Lease(db, 'scheduler', 'b', 15_000, clock);
        expect(await a.acquire()).toBe(true);
        expect(await b.acquire()).toBe(false);
        clock.advance(10_000);
        expect(await a.acquire()).toBe(true); // renewed: expires 15 s from now
        clock.advance(14_000);
        expect(await b.acquire()).toBe(false);
        clock.advance(1_001);
        // a stopped renewing 15 s ago: b takes over, and a no longer holds it.
        expect(await b.acquire()).toBe(true);
        expect(await a.acquire()).toBe(false);
        expect(await b.state()).toMatchObject({
          holder: 'b',
          acquiredAt: clock.now(),
          expiresAt: clock.now() + 15_000,
        });
        await b.release();
        expect(await a.acquire()).toBe(true);
      },
    );

    it.skipIf(!run)('is taken by exactly one of many asking at once', async () => {
      const clock = new ManualClock(5_000_000);
      const leases = Array.from({ length: 8 }, (_, i) => new Lease(db, 'race', `p${i}`, 15_000, clock));
      const won = await Promise.all(leases.map((l) => l.acquire()));
      expect(won.filter(Boolean)).toHaveLength(1);
    });
  });
}
