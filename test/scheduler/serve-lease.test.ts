/**
 * Two `keel serve` processes on one PostgreSQL: exactly one runs the schedules; when it is killed
 * (SIGKILL, no goodbye), the other takes the lease over once it expires, never before; a server
 * stopped cleanly gives the lease up.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/alertmanager.js';
import { CLI } from '../helpers/cli.js';
import { serviceUrl } from '../helpers/services.js';
import { freshPostgresSchema, tempDir } from '../helpers/tracking.js';

interface Status {
  holder: string;
  leader: boolean;
  lease: { holder: string; acquiredAt: number; renewedAt: number; expiresAt: number } | null;
}

const TTL_MS = 3000;
/** The monitor's window: it is due at each multiple of it (UTC). */
const WINDOW_MS = 3_600_000;

/** The window ends after `from`, up to `to`, as epoch ms. */
function windowEndsBetween(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = (Math.floor(from / WINDOW_MS) + 1) * WINDOW_MS; t <= to; t += WINDOW_MS) out.push(t);
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe().catch(() => undefined);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the scheduler lease across two keel serve processes (PostgreSQL)', async () => {
  const url = await serviceUrl('postgres');
  const children: ChildProcess[] = [];
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await drop?.();
  });

  it.skipIf(!url)(
    'hands over when its holder is killed, and is given up by a clean stop',
    { timeout: 180_000 },
    async () => {
      const schema = await freshPostgresSchema(url as string);
      drop = schema.drop;
      const dir = tempDir('keel-lease-');
      writeFileSync(
        join(dir, 'keel.yaml'),
        `monitoring:\n  scheduler: { leaseTtl: 3s, tick: 500ms, grace: 1s }\n  models:\n    churn: { window: ${WINDOW_MS / 1000}s }\n`,
      );
      const servers: Array<{ child: ChildProcess; base: string }> = [];
      for (let i = 0; i < 2; i++) {
        const port = await freePort();
        // One process per server: `leader` is the answering process's own state, and a kept-alive
        // connection always reaches the same worker of a cluster (each worker contends by itself).
        const child = spawn(process.execPath, [CLI, 'serve', '--port', String(port), '--workers', '1'], {
          cwd: dir,
          env: { ...process.env, KEEL_DB: schema.url, KEEL_TRACKING_URI: '', KEEL_LOG_LEVEL: 'error' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        servers.push({ child, base: `http://127.0.0.1:${port}` });
      }
      const status = async (base: string) =>
        (await (await fetch(`${base}/api/2.0/keel/monitoring/scheduler`)).json()) as Status;
      const leaderOf = () =>
        waitFor('a leader', async () => {
          const all = await Promise.all(
            servers
              .filter((s) => s.child.exitCode === null)
              .map(async (s) => ({ s, st: await status(s.base) })),
          );
          const leaders = all.filter((x) => x.st.leader);
          // Never two at once.
          expect(leaders.length).toBeLessThanOrEqual(1);
          return leaders[0];
        });
      const first = await leaderOf();
      const other = servers.find((s) => s !== first.s) as (typeof servers)[number];
      expect((await status(other.base)).leader).toBe(false);

      const before = (await status(first.s.base)).lease as NonNullable<Status['lease']>;
      first.s.child.kill('SIGKILL');
      const killedAt = Date.now();
      const taken = await waitFor('the takeover', async () => {
        const st = await status(other.base);
        return st.leader ? st : undefined;
      });
      const lease = taken.lease as NonNullable<Status['lease']>;
      expect(lease.holder).toBe(taken.holder);
      expect(lease.holder).not.toBe(before.holder);
      // Taken only after the dead holder's lease expired: never two holders.
      expect(lease.acquiredAt).toBeGreaterThanOrEqual(before.renewedAt + TTL_MS);
      console.log(
        `lease taken over ${lease.acquiredAt - killedAt} ms after the kill (ttl ${TTL_MS} ms, tick 500 ms)`,
      );

      const stoppedAt = Date.now();
      other.child.kill('SIGTERM');
      await new Promise((r) => other.child.once('exit', r));
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        expect((await client.query('SELECT * FROM scheduler_leases')).rows).toEqual([]);
        const runs = await client.query(
          "SELECT due_at, status FROM scheduler_runs WHERE job = 'monitor:churn' ORDER BY due_at",
        );
        const [origin, ...ran] = runs.rows.map((r) => ({
          due: Number(r.due_at),
          status: r.status as string,
        }));
        expect(origin?.status).toBe('origin');
        // The monitor is due at each window's end (each hour), judged a grace (1 s) after it, at a
        // tick: a test that crossed one ran that window once, by whichever server held the lease.
        // A window that ended within the last grace and tick before the stop may not have run.
        const must = windowEndsBetween(origin?.due ?? 0, stoppedAt - 5_000);
        const may = windowEndsBetween(origin?.due ?? 0, stoppedAt);
        expect(ran.every((r) => r.status === 'done' && may.includes(r.due))).toBe(true);
        expect(ran.map((r) => r.due).slice(0, must.length)).toEqual(must);
      } finally {
        await client.end();
      }
    },
  );
});
