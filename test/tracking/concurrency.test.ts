/**
 * Several processes on one embedded home: no metric is lost, and a writer killed mid-stream
 * leaves the store readable with every acknowledged write present.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/index.js';
import { Tracking } from '../../src/tracking/index.js';
import { tempDir } from '../helpers/tracking.js';

const WRITER = join(import.meta.dirname, 'fixtures', 'writer.ts');

function startWriter(
  home: string,
  batches: number,
  size: number,
): { child: ChildProcess; acks: () => number; runId: Promise<string> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', WRITER, home, 'shared', String(batches), String(size)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let acks = 0;
  let out = '';
  let resolveRun: (id: string) => void;
  const runId = new Promise<string>((r) => {
    resolveRun = r;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('run ')) resolveRun(line.slice(4));
      if (line.startsWith('ack ')) acks = Number(line.slice(4));
    }
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) console.error(err);
  });
  return { child, acks: () => acks, runId };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });

describe('embedded store under several processes', () => {
  const opened: Tracking[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0)) await t.close();
  });

  it('loses no metric when two processes log at once', async () => {
    const home = tempDir();
    const a = startWriter(home, 40, 100);
    const b = startWriter(home, 40, 100);
    expect(await exited(a.child)).toBe(0);
    expect(await exited(b.child)).toBe(0);
    const tracking = await Tracking.open(loadConfig({ env: { KEEL_HOME: home } }));
    opened.push(tracking);
    for (const runId of [await a.runId, await b.runId]) {
      const history = await tracking.runs.metricHistory(runId, 'm', { maxResults: 10_000 });
      expect(history.items).toHaveLength(4000);
      expect(history.items.map((m) => m.step)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
      expect((await tracking.runs.get(runId)).info.status).toBe('FINISHED');
    }
  }, 60_000);

  it('keeps every acknowledged write when a writer is killed mid-stream', async () => {
    const home = tempDir();
    const w = startWriter(home, 100_000, 50);
    const runId = await w.runId;
    while (w.acks() < 20) await new Promise((r) => setTimeout(r, 10));
    w.child.kill('SIGKILL');
    await exited(w.child);
    const acked = w.acks();
    const tracking = await Tracking.open(loadConfig({ env: { KEEL_HOME: home } }));
    opened.push(tracking);
    const integrity = await tracking.db.get<{ integrity_check: string }>('PRAGMA integrity_check');
    expect(integrity?.integrity_check).toBe('ok');
    const history = await tracking.runs.metricHistory(runId, 'm', { maxResults: 100_000 });
    // Every acknowledged batch is there whole; at most the one in flight may also have landed.
    expect(history.items.length % 50).toBe(0);
    expect(history.items.length).toBeGreaterThanOrEqual(acked * 50);
    expect(history.items.length).toBeLessThanOrEqual((acked + 1) * 50);
    // And the store takes writes again.
    await tracking.runs.logBatch(runId, { metrics: [{ key: 'after', value: 1, timestamp: 1, step: 0 }] });
  }, 60_000);
});
