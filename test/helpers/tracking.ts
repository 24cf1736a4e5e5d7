import { join } from 'node:path';
import pg from 'pg';
import { type ArtifactStore, LocalArtifactStore } from '../../src/artifacts/index.js';
import { type Clock, systemClock } from '../../src/core/index.js';
import { openDatabase, type SqlDatabase } from '../../src/storage/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { tempDir } from './temp.js';

export { tempDir };

export type Backend = 'sqlite' | 'postgres';

/** A fresh, empty PostgreSQL schema on the server at `url`, returned as a connection URL. */
export async function freshPostgresSchema(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `keel_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const withSchema = new URL(url);
  withSchema.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: withSchema.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export async function openTestDatabase(
  backend: Backend,
  postgresUrl?: string,
): Promise<{ db: SqlDatabase; cleanup: () => Promise<void> }> {
  if (backend === 'sqlite') {
    const db = await openDatabase({ type: 'sqlite', path: join(tempDir(), 'keel.db') });
    return { db, cleanup: () => db.close() };
  }
  const fresh = await freshPostgresSchema(postgresUrl!);
  const db = await openDatabase({ type: 'postgres', url: fresh.url });
  return {
    db,
    cleanup: async () => {
      await db.close();
      await fresh.drop();
    },
  };
}

export async function openTestTracking(
  backend: Backend,
  postgresUrl?: string,
  clock: Clock = systemClock,
  artifacts: ArtifactStore = new LocalArtifactStore(join(tempDir(), 'artifacts')),
): Promise<{ tracking: Tracking; cleanup: () => Promise<void> }> {
  const { db, cleanup } = await openTestDatabase(backend, postgresUrl);
  const tracking = new Tracking(db, artifacts, clock);
  await tracking.init();
  return { tracking, cleanup };
}
