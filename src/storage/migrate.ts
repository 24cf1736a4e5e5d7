/**
 * @module storage/migrate
 * Versioned migrations. Each subsystem owns its list; versions are unique across Keel (tracking
 * 100s, registry 200s, ...). Applied versions are recorded in `keel_migrations`, inside the same
 * transaction as the DDL, so a crash mid-migration leaves the previous version in place.
 */
import { renderDdl, type SqlDatabase } from './database.js';

export interface Migration {
  version: number;
  name: string;
  /** Portable DDL; `{{id}}`, `{{bigint}}`, `{{double}}`, `{{blob}}` are filled per dialect. */
  sql: string;
}

export async function migrate(db: SqlDatabase, migrations: readonly Migration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  // An exclusive transaction: concurrent migrators (two `keel serve` replicas starting at once)
  // take turns, since every backend runs exclusive transactions one at a time.
  return db.transaction(async (tx) => {
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS keel_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (await tx.all<{ version: number }>('SELECT version FROM keel_migrations')).map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of sorted) {
      if (done.has(m.version)) continue;
      await tx.exec(renderDdl(m.sql, tx.dialect));
      await tx.run('INSERT INTO keel_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      applied.push(m.version);
    }
    return applied;
  });
}
