/**
 * The prediction log's writer thread: it writes what it is sent as one Parquet file (nulls, text
 * and numbers as staged), fails a write it cannot make with the reason, starts again after being
 * ended, and runs below the priority of the thread that uses it.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { LogWriter } from '../../src/monitoring/log-writer.js';
import type { StagedWrite } from '../../src/monitoring/staged-write.js';
import { tempDir } from '../helpers/temp.js';

const staged = (): StagedWrite => ({
  tables: [
    {
      types: ['INTEGER', 'DOUBLE', 'VARCHAR', 'FLOAT'],
      columns: [
        Int32Array.from([1, 2, 3]),
        Float64Array.from([0.5, Number.NaN, 2 ** 53 + 2]),
        ['a', null, '%#'],
        Float32Array.from([0.25, 1, -3]),
      ],
      rows: 3,
    },
  ],
  select:
    'SELECT c0 AS id, CASE WHEN isnan(c1) THEN NULL ELSE c1 END AS score, c2 AS label, c3 AS x FROM __keel_t0',
  rows: 3,
});

async function rows(file: string): Promise<unknown[][]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const reader = await conn.runAndReadAll(
      `SELECT * FROM read_parquet('${file}', hive_partitioning = false) ORDER BY id`,
    );
    return reader.getRowsJS();
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The nice value of each thread of this process (Linux), by thread id. */
function threadNice(): Map<string, number> {
  const tasks = readdirSync('/proc/self/task');
  // Field 19 of stat is the nice value; the command name (field 2) may hold spaces, so count from its ')'.
  return new Map(
    tasks.map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return [tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    }),
  );
}

describe('the prediction log writer thread', () => {
  it('writes a staged write as one Parquet file, and starts again after it was ended', async () => {
    const writer = new LogWriter();
    const dir = join(tempDir(), 'date=2026-12-06');
    try {
      const file = await writer.write(dir, staged());
      expect(file.startsWith(dir)).toBe(true);
      expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
      expect(await rows(file)).toEqual([
        [1, 0.5, 'a', 0.25],
        [2, null, null, 1],
        [3, 2 ** 53 + 2, '%#', -3],
      ]);
      await writer.close();
      const again = await writer.write(dir, staged());
      expect(again).not.toBe(file);
      expect(readdirSync(dir).sort()).toEqual([file, again].map((f) => f.slice(dir.length + 1)).sort());
    } finally {
      await writer.close();
    }
  });

  it('fails a write it cannot make with the reason, and writes the next one', async () => {
    const writer = new LogWriter();
    const root = tempDir();
    const blocked = join(root, 'home');
    writeFileSync(blocked, 'a file where a folder should be');
    try {
      await expect(writer.write(join(blocked, 'date=2026-12-06'), staged())).rejects.toThrow(/home/);
      const file = await writer.write(join(root, 'ok'), staged());
      expect(await rows(file)).toHaveLength(3);
    } finally {
      await writer.close();
    }
  });

  it.runIf(process.platform === 'linux')(
    'runs at a lower priority than the thread that uses it',
    async () => {
      const writer = new LogWriter();
      const before = threadNice();
      try {
        await writer.write(join(tempDir(), 'p'), staged());
        const after = threadNice();
        const started = [...after].filter(([tid]) => !before.has(tid));
        expect(started.map(([, nice]) => nice)).toContain(5);
        // Only the writer's own thread: this one keeps its priority.
        expect(after.get(String(process.pid))).toBe(getPriority());
        expect(after.get(String(process.pid))).toBe(before.get(String(process.pid)));
      } finally {
        await writer.close();
      }
    },
  );
});
