/**
 * @module monitoring/monitor-runs
 * Monitor runs in the metadata database: one row per run with its window, status and the whole
 * report as JSON. Rows are only added; history reads newest first.
 */
import { KeelError } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import type { MonitorReport } from './monitor-report.js';

interface RunRow {
  id: number;
  result: string;
}

const parse = (r: RunRow): MonitorReport => ({
  ...(JSON.parse(r.result) as MonitorReport),
  id: Number(r.id),
});

export class MonitorRunStore {
  constructor(private readonly db: SqlDatabase) {}

  /** Stores a run; returns it with its id. */
  async add(report: MonitorReport): Promise<MonitorReport> {
    const { id: _ignored, ...body } = report;
    return this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO monitor_runs (model, window_start, window_end, ran_at, status, row_count, cause, result)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          report.model,
          report.window.start,
          report.window.end,
          report.ranAt,
          report.status,
          report.rows,
          report.cause,
          JSON.stringify(body),
        ],
      );
      const row = await tx.get<{ id: number }>('SELECT MAX(id) AS id FROM monitor_runs WHERE model = ?', [
        report.model,
      ]);
      return { ...report, id: Number(row?.id) };
    });
  }

  /** @throws KeelError RESOURCE_DOES_NOT_EXIST */
  async get(id: number): Promise<MonitorReport> {
    const row = await this.db.get<RunRow>('SELECT id, result FROM monitor_runs WHERE id = ?', [id]);
    if (!row) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `monitor run ${id} does not exist`);
    return parse(row);
  }

  /** A model's runs, newest window first (ties: newest run first). */
  async history(model: string, limit = 20): Promise<MonitorReport[]> {
    const rows = await this.db.all<RunRow>(
      'SELECT id, result FROM monitor_runs WHERE model = ? ORDER BY window_end DESC, id DESC LIMIT ?',
      [model, limit],
    );
    return rows.map(parse);
  }

  /** The latest run of each model (or of one), by model name. */
  async latest(model?: string): Promise<MonitorReport[]> {
    const rows = await this.db.all<RunRow>(
      `SELECT r.id, r.result FROM monitor_runs r
       WHERE r.id = (SELECT MAX(id) FROM monitor_runs x WHERE x.model = r.model)
       ${model === undefined ? '' : 'AND r.model = ?'} ORDER BY r.model`,
      model === undefined ? [] : [model],
    );
    return rows.map(parse);
  }

  /** Rows of a model's earlier windows of the same length that ended by `end`, newest first. */
  async previousRows(model: string, windowMs: number, end: number, count: number): Promise<number[]> {
    const rows = await this.db.all<{ row_count: number }>(
      `SELECT row_count FROM monitor_runs WHERE model = ? AND window_end <= ? AND window_end - window_start = ?
       ORDER BY window_end DESC, id DESC LIMIT ?`,
      [model, end, windowMs, count],
    );
    return rows.map((r) => Number(r.row_count));
  }
}
