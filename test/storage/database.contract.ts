/**
 * The metadata database contract, on every backend: placeholders, number types, transactions that
 * commit or roll back whole, migrations applied once, translated constraint errors, bulk inserts,
 * and the two transaction scopes (exclusive, and `rows` guarded by row locks).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate, type SqlDatabase } from '../../src/storage/index.js';
import { type Backend, openTestDatabase } from '../helpers/tracking.js';
import { within } from '../helpers/wait.js';

const migrations = [
  {
    version: 9001,
    name: 'test table',
    sql: 'CREATE TABLE t (id {{id}}, name TEXT NOT NULL UNIQUE, big {{bigint}}, x {{double}})',
  },
];

/** Resolves for everyone once `n` parties have arrived: proves that transactions are open at once. */
function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const all = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    if (++arrived === n) open();
    return all;
  };
}

export function describeDatabaseContract(backend: Backend, postgresUrl?: string): void {
  // SQLite runs every transaction alone (one writer per database file), so only PostgreSQL can
  // show `rows` transactions side by side.
  const sideBySide = backend === 'postgres';
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

    it('inserts many rows at once, every value intact, and upserts with a condition', async () => {
      const odd = `a'b"c,{d}\\e\n\u00e9\u{1F600} NULL`;
      const rows = [
        [odd, 9_007_199_254_740_991, 0.1 + 0.2],
        ['null', null, null],
        ['inf', -1, Number.POSITIVE_INFINITY],
        ['', 0, -0.5],
      ];
      const columns = [
        ['name', 'text'],
        ['big', 'bigint'],
        ['x', 'double'],
      ] as const;
      expect(await db.insertMany({ table: 't', columns, rows })).toEqual({ changes: 4 });
      expect(await db.all('SELECT name, big, x FROM t ORDER BY id')).toEqual(
        rows.map(([name, big, x]) => ({ name, big, x })),
      );
      // Upsert: a row whose condition holds is replaced, one whose condition fails is kept.
      await db.transaction(async (tx) => {
        await tx.insertMany({
          table: 't',
          columns,
          rows: [
            ['null', 5, 1.5],
            ['inf', -2, 0],
            ['new', 7, 7],
          ],
          onConflict:
            'ON CONFLICT (name) DO UPDATE SET big = excluded.big, x = excluded.x WHERE excluded.big > COALESCE(t.big, 0)',
        });
      });
      const got = await db.all<{ name: string; big: number | null }>(
        "SELECT name, big FROM t WHERE name IN ('null', 'inf', 'new') ORDER BY name",
      );
      expect(got).toEqual([
        { name: 'inf', big: -1 },
        { name: 'new', big: 7 },
        { name: 'null', big: 5 },
      ]);
      expect(await db.insertMany({ table: 't', columns, rows: [] })).toEqual({ changes: 0 });
    });

    it('rolls a bulk insert back whole when one of its rows fails', async () => {
      await db.run('INSERT INTO t (name) VALUES (?)', ['taken']);
      await expect(
        db.insertMany({
          table: 't',
          columns: [['name', 'text']],
          rows: [['free'], ['taken']],
        }),
      ).rejects.toMatchObject({ code: 'RESOURCE_ALREADY_EXISTS' });
      expect(await db.all('SELECT name FROM t')).toEqual([{ name: 'taken' }]);
    });

    it('keeps read-modify-write safe in rows transactions that lock the row they change', async () => {
      await db.run('INSERT INTO t (name, big) VALUES (?, ?)', ['counter', 0]);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(
            async (tx) => {
              const row = await tx.get<{ big: number }>(
                `SELECT big FROM t WHERE name = ?${tx.lockClause('update')}`,
                ['counter'],
              );
              await tx.run('UPDATE t SET big = ? WHERE name = ?', [row!.big + 1, 'counter']);
            },
            { scope: 'rows' },
          ),
        ),
      );
      expect((await db.get<{ big: number }>('SELECT big FROM t WHERE name = ?', ['counter']))?.big).toBe(20);
    });

    it.runIf(sideBySide)('runs rows transactions side by side, and an exclusive one alone', async () => {
      // Both rows transactions hold their shared lock before the exclusive one asks for its lock:
      // a shared request made after an exclusive one is queued behind it (PostgreSQL does not
      // let readers starve a writer), so a rows transaction still opening when the exclusive
      // one queued would wait for it while the other waited here for both: a deadlock no
      // database can see. That happened under load when this waited a fixed 50 ms instead.
      const bothOpen = barrier(3);
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const order: string[] = [];
      const rows = (name: string) =>
        db.transaction(
          async (tx) => {
            await tx.run('INSERT INTO t (name) VALUES (?)', [name]);
            await bothOpen();
            await released;
            order.push(`${name} done`);
          },
          { scope: 'rows' },
        );
      const first = rows('a');
      const second = rows('b');
      await bothOpen();
      // Queued behind the two, the exclusive transaction starts only after both have committed.
      const exclusive = db.transaction(async (tx) => {
        order.push(`exclusive sees ${(await tx.get<{ n: number }>('SELECT COUNT(*) AS n FROM t'))!.n}`);
      });
      await new Promise((r) => setTimeout(r, 50));
      release();
      await Promise.all([first, second, exclusive]);
      expect(order.slice(2)).toEqual(['exclusive sees 2']);
    });

    it.runIf(sideBySide)('runs a rows transaction again after the database broke a deadlock', async () => {
      await db.run("INSERT INTO t (name, big) VALUES ('x', 0), ('y', 0)");
      let runs = 0;
      const bothLocked = barrier(2);
      const swap = (first: string, second: string) =>
        db.transaction(
          async (tx) => {
            runs++;
            await tx.run('UPDATE t SET big = big + 1 WHERE name = ?', [first]);
            // Only the first run of each meets the other halfway; the rerun goes straight through.
            if (runs <= 2) await bothLocked();
            await tx.run('UPDATE t SET big = big + 1 WHERE name = ?', [second]);
          },
          { scope: 'rows' },
        );
      await Promise.all([swap('x', 'y'), swap('y', 'x')]);
      // The deadlock made one of them run again, at least. The rerun may take the first row before
      // the transaction it lost to, which was waiting for that row, gets it back (PostgreSQL wakes
      // a row's waiters without a queue), and deadlock with it once more: a loaded CI machine
      // ran 4 times, PostgreSQL's log showing the second deadlock against the rerun. Each swap
      // must still count exactly once.
      expect(runs).toBeGreaterThanOrEqual(3);
      expect(await db.all('SELECT name, big FROM t ORDER BY name')).toEqual([
        { name: 'x', big: 2 },
        { name: 'y', big: 2 },
      ]);
    });

    // Two Keel deployments (or two test files) in schemas of one database must not take turns:
    // with one lock for the whole database, a `rows` transaction waiting in JavaScript for another
    // could sit behind an exclusive one of the other schema, a wait PostgreSQL cannot see as a
    // deadlock, and hang for good.
    it.runIf(sideBySide)(
      'takes its transaction lock per schema, so other schemas never wait for it',
      async () => {
        const other = await openTestDatabase(backend, postgresUrl);
        try {
          let release!: () => void;
          const held = new Promise<void>((resolve) => {
            release = resolve;
          });
          let entered!: () => void;
          const inside = new Promise<void>((resolve) => {
            entered = resolve;
          });
          const exclusive = other.db.transaction(async () => {
            entered();
            await held;
          });
          await inside;
          // Both scopes finish here while the other schema's exclusive transaction stays open;
          // waiting for it would never end, so the wait is bounded and says what it waited for.
          const both = async () => {
            await db.transaction(async (tx) => tx.run("INSERT INTO t (name) VALUES ('a')"));
            await db.transaction(async (tx) => tx.run("INSERT INTO t (name) VALUES ('b')"), {
              scope: 'rows',
            });
          };
          try {
            await within("another schema's exclusive transaction", both());
          } finally {
            release();
            await exclusive;
          }
          expect(await db.all('SELECT name FROM t ORDER BY name')).toEqual([{ name: 'a' }, { name: 'b' }]);
        } finally {
          await other.cleanup();
        }
      },
    );

    it('matches LIKE case-sensitively, as on every backend', async () => {
      await db.run('INSERT INTO t (name) VALUES (?)', ['Churn']);
      expect(await db.all('SELECT name FROM t WHERE name LIKE ?', ['churn'])).toEqual([]);
      expect(await db.all('SELECT name FROM t WHERE LOWER(name) LIKE LOWER(?)', ['churn'])).toEqual([
        { name: 'Churn' },
      ]);
    });
  });
}
