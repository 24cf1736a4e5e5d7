/**
 * The long fuzz: as many fuzzed requests as asked over every route, against SQLite or PostgreSQL,
 * printing the statuses seen and every answer >= 500 (with the seed and index that replay it).
 * Exits 1 when any request got a 5xx.
 *
 * Run: npx tsx bench/security/fuzz.ts [count=20000] [sqlite|postgres] [seed]
 */

import { POSTGRES_URL } from '../../test/helpers/services.js';
import { fuzz } from '../../test/security/fuzz.js';
import { securityWorld } from '../../test/security/world.js';

const count = Number(process.argv[2] ?? 20_000);
const backend = (process.argv[3] ?? 'sqlite') as 'sqlite' | 'postgres';
const seed = Number(process.argv[4] ?? Date.now() % 1_000_000);

const world = await securityWorld(backend, backend === 'postgres' ? POSTGRES_URL : undefined, { auth: true });
const started = performance.now();
const report = await fuzz(world, {
  seed,
  count,
  onRequest: (done) => {
    if (process.stderr.isTTY && done % 500 === 0) process.stderr.write(`\r${done}/${count}`);
  },
});
const seconds = (performance.now() - started) / 1000;
if (process.stderr.isTTY) process.stderr.write('\n');
await world.close();
console.log(
  `fuzz ${backend} seed ${seed}: ${report.sent} requests in ${seconds.toFixed(1)} s (${(report.sent / seconds).toFixed(0)}/s)`,
);
console.log('statuses', JSON.stringify(report.statuses));
console.log(`${report.failures.length} answers >= 500`);
for (const f of report.failures) console.log(f);
process.exitCode = report.failures.length > 0 ? 1 : 0;
