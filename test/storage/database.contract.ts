/**
 * The metadata database contract, on every backend: placeholders, number types, transactions that
 * commit or roll back whole, migrations applied once, and translated constraint errors.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, type SqlDatabase } from '../../src/storage/index.js';
import { type Backend, openTestDatabase } from '../helpers/tracking.js';

const migrations = [
  {
    version: 9001,
    name: 'test table',
    sql: 'CREATE TABLE t (id {{id}}, name TEXT NOT NULL UNIQUE, big {{bigint}}, x {{double}})',
  },
];

export function describeDatabaseContract(backend: Backend, postgresUrl?: string): void {
  describe(`metadata database on ${backend}`, () => {
    let db: SqlDatabase;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ db, cleanup } = await openTestDatabase(backend, postgresUrl));
      await migrate(db, migrations);
    });
    afterEach(async () => cleanup());

    it('applies a migration once and records it', async () => {
      expect(await migrate(db, migrations)).toEqual([]);
      const rows = await db.all<{ version: number; name: string }>(
        'SELECT version, name FROM keel_migrations',
      );
      expect(rows).toEqual([{ version: 9001, name: 'test table' }]);
    });

    it('round-trips numbers: ms timestamps as numbers, doubles exactly', async () => {
      await db.run('INSERT INTO t (name, big, x) VALUES (?, ?, ?)', ['a', 1_795_746_142_396, 0.1 + 0.2]);
      const row = await db.get<{ id: number; big: number; x: number }>(
        'SELECT id, big, x FROM t WHERE name = ?',
        ['a'],
      );
      expect(row).toEqual({ id: 1, big: 1_795_746_142_396, x: 0.1 + 0.2 });
      expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))?.n).toBe(1);
    });

    it('commits a transaction whole, or rolls it back whole', async () => {
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO t (name) VALUES (?)', ['one']);
        await tx.run('INSERT INTO t (name) VALUES (?)', ['two']);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO t (name) VALUES (?)', ['three']);
          await tx.run('INSERT INTO t (name) VALUES (?)', ['one']);
        }),
      ).rejects.toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS' });
      const names = (await db.all<{ name: string }>('SELECT name FROM t ORDER BY name')).map((r) => r.name);
      expect(names).toEqual(['one', 'two']);
    });

    it('serializes concurrent read-modify-write transactions', async () => {
      await db.run('INSERT INTO t (name, big) VALUES (?, ?)', ['counter', 0]);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            const row = await tx.get<{ big: number }>('SELECT big FROM t WHERE name = ?', ['counter']);
            await tx.run('UPDATE t SET big = ? WHERE name = ?', [row!.big + 1, 'counter']);
          }),
        ),
      );
      expect((await db.get<{ big: number }>('SELECT big FROM t WHERE name = ?', ['counter']))?.big).toBe(20);
    });

    it('matches LIKE case-sensitively, as on every backend', async () => {
      await db.run('INSERT INTO t (name) VALUES (?)', ['Churn']);
      expect(await db.all('SELECT name FROM t WHERE name LIKE ?', ['churn'])).toEqual([]);
      expect(await db.all('SELECT name FROM t WHERE LOWER(name) LIKE LOWER(?)', ['churn'])).toEqual([
        { name: 'Churn' },
      ]);
    });
  });
}
