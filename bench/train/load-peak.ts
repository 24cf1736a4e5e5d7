/**
 * Child process of bench/train/wide.ts: loads a CSV with `loadTable` (or, with `--idle`, only
 * starts DuckDB) and prints its peak resident memory, so each figure is a fresh process's.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { loadTable } from '../../src/ml/index.js';

const [path, mode] = process.argv.slice(2);
const start = performance.now();
let rows = 0;
if (mode === '--idle') {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  instance.closeSync();
} else rows = (await loadTable({ path, target: 'label' })).rows;
console.log(
  JSON.stringify({
    rows,
    seconds: (performance.now() - start) / 1000,
    peak_mib: process.resourceUsage().maxRSS / 1024,
  }),
);
