/**
 * Small files and store snapshots for the data tests.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnSpec } from '../../src/data/index.js';

export { tempDir } from './temp.js';

/** Writes `text` to `dir/name` and returns the path. */
export function writeText(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Every file under `dir` with the sha256 of its bytes: equal snapshots mean an unchanged store. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** A small orders table: id, qty, price, day, note, active. */
export const ORDER_COLUMNS: ColumnSpec[] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'qty', type: 'int64', min: 0 },
  { name: 'price', type: 'float64' },
  { name: 'day', type: 'date' },
  { name: 'note', type: 'string' },
  { name: 'active', type: 'bool' },
];

export const ORDERS_CSV = [
  'id,qty,price,day,note,active',
  '1,2,1.5,2024-01-01,a,true',
  '2,3,2.25,2024-01-02,b,false',
  '3,1,9.99,2024-01-03,,true',
  '4,5,0.5,2024-01-04,c,false',
].join('\n');
