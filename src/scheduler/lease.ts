/**
 * @module scheduler/lease
 * A lease in the metadata database: one holder at a time, for `ttlMs` after its last renewal. The
 * holder renews it well before it expires; when the holder dies, it expires and the next process
 * that asks takes it over. Every change is one transaction, serialized across processes (SQLite's
 * BEGIN IMMEDIATE, PostgreSQL's advisory lock), so two processes never both hold it. Times are the
 * wall clock's: a lease is about processes being alive, whatever time a replay moved them to.
 */
import type { Clock } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';

export const wallClock: Clock = { now: () => Date.now() };

export interface LeaseState {
  name: string;
  holder: string;
  acquiredAt: number;
  renewedAt: number;
  expiresAt: number;
}

interface Row {
  name: string;
  holder: string;
  acquired_at: number;
  renewed_at: number;
  expires_at: number;
}

const stateOf = (r: Row): LeaseState => ({
  name: r.name,
  holder: r.holder,
  acquiredAt: Number(r.acquired_at),
  renewedAt: Number(r.renewed_at),
  expiresAt: Number(r.expires_at),
});

export class Lease {
  constructor(
    private readonly db: SqlDatabase,
    readonly name: string,
    readonly holder: string,
    readonly ttlMs: number,
    private readonly clock: Clock = wallClock,
  ) {}

  /**
   * Takes or renews the lease; true when this holder has it now. A lease held by another is
   * taken only once it has expired.
   */
  async acquire(): Promise<boolean> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const row = await tx.get<Row>('SELECT * FROM scheduler_leases WHERE name = ?', [this.name]);
      if (!row) {
        await tx.run(
          'INSERT INTO scheduler_leases (name, holder, acquired_at, renewed_at, expires_at) VALUES (?, ?, ?, ?, ?)',
          [this.name, this.holder, now, now, now + this.ttlMs],
        );
        return true;
      }
      if (row.holder === this.holder) {
        await tx.run('UPDATE scheduler_leases SET renewed_at = ?, expires_at = ? WHERE name = ?', [
          now,
          now + this.ttlMs,
          this.name,
        ]);
        return true;
      }
      if (Number(row.expires_at) > now) return false;
      await tx.run(
        'UPDATE scheduler_leases SET holder = ?, acquired_at = ?, renewed_at = ?, expires_at = ? WHERE name = ?',
        [this.holder, now, now, now + this.ttlMs, this.name],
      );
      return true;
    });
  }

  /** Gives the lease up if this holder has it, so another process takes it at once. */
  async release(): Promise<void> {
    await this.db.run('DELETE FROM scheduler_leases WHERE name = ? AND holder = ?', [this.name, this.holder]);
  }

  /** Who holds it (expired or not), if anyone. */
  async state(): Promise<LeaseState | undefined> {
    const row = await this.db.get<Row>('SELECT * FROM scheduler_leases WHERE name = ?', [this.name]);
    return row ? stateOf(row) : undefined;
  }
}
