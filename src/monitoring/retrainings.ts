/**
 * @module monitoring/retrainings
 * The record of every retraining trigger in the metadata database: what caused it (schedule,
 * drift, performance, event) with its evidence, who asked, and how it ended (the run, the version,
 * the gate report, the canary). A unique index allows one `running` row per model, so two
 * triggers at once start one retraining; the other is recorded `skipped`, naming the one running.
 * A running row whose process died (no heartbeat for `staleMs`) is closed as failed before a new
 * one starts.
 */
import type { Clock } from '../core/index.js';
import { isKeelError, KeelError } from '../core/index.js';
import type { GateResult } from '../registry/index.js';
import type { SqlDatabase } from '../storage/index.js';

export const RETRAIN_CAUSES = ['schedule', 'drift', 'performance', 'event'] as const;
export type RetrainCause = (typeof RETRAIN_CAUSES)[number];
export type RetrainStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

/** What a retraining produced, step by step. */
export interface RetrainResult {
  /** The tracking run of the recipe. */
  runId?: string;
  /** The version registered from it. */
  version?: string;
  /** A reference profile was stored for it from the run's training data. */
  profiled?: boolean;
  /** The promotion the policy allows, with the gates of that stage. */
  promotion?: {
    stage: string;
    status: 'promoted' | 'pending_approval' | 'refused';
    gates: GateResult[];
    requestId?: number;
  };
  /** The Production gates evaluated for the new version (a report; nothing is changed). */
  productionGates?: GateResult[];
  /** The alias pointed at the new version, which a server's canary follows. */
  canary?: { alias: string; version: string };
  /** The running retraining a skipped trigger deferred to. */
  runningId?: number;
  /** The recipe's last lines of output, when it failed. */
  output?: string;
  durationMs?: number;
}

export interface Retraining {
  id: number;
  model: string;
  cause: RetrainCause;
  reason: string;
  /** The trigger's evidence: the monitor run and figures, the schedule's due time, ... */
  evidence: Record<string, unknown>;
  requestedBy: string;
  status: RetrainStatus;
  startedAt: number;
  finishedAt: number | null;
  result: RetrainResult;
  error: string | null;
}

interface Row {
  id: number;
  model: string;
  cause: string;
  reason: string;
  evidence: string;
  requested_by: string;
  status: string;
  started_at: number;
  finished_at: number | null;
  result: string;
  error: string | null;
}

const retrainingOf = (r: Row): Retraining => ({
  id: Number(r.id),
  model: r.model,
  cause: r.cause as RetrainCause,
  reason: r.reason,
  evidence: JSON.parse(r.evidence),
  requestedBy: r.requested_by,
  status: r.status as RetrainStatus,
  startedAt: Number(r.started_at),
  finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  result: JSON.parse(r.result),
  error: r.error,
});

export interface RetrainRequest {
  cause: RetrainCause;
  reason: string;
  evidence?: Record<string, unknown>;
  requestedBy: string;
}

export class RetrainingStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
    /** A running row without a heartbeat for this long belongs to a dead process (default 5 min). */
    private readonly staleMs = 300_000,
  ) {}

  /**
   * Records a trigger: `running` when no retraining of the model runs, else `skipped` naming it.
   */
  async start(model: string, request: RetrainRequest): Promise<Retraining> {
    const now = this.clock.now();
    await this.db.run(
      `UPDATE retrainings SET status = 'failed', finished_at = ?, error = ?
       WHERE model = ? AND status = 'running' AND heartbeat_at < ?`,
      [now, 'its process stopped (no heartbeat)', model, now - this.staleMs],
    );
    const insert = (status: RetrainStatus, result: RetrainResult) =>
      this.db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO retrainings (model, cause, reason, evidence, requested_by, status, started_at, heartbeat_at, finished_at, result)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            model,
            request.cause,
            request.reason,
            JSON.stringify(request.evidence ?? {}),
            request.requestedBy,
            status,
            now,
            now,
            status === 'running' ? null : now,
            JSON.stringify(result),
          ],
        );
        const row = await tx.get<Row>(
          'SELECT * FROM retrainings WHERE id = (SELECT MAX(id) FROM retrainings WHERE model = ?)',
          [model],
        );
        return retrainingOf(row as Row);
      });
    try {
      return await insert('running', {});
    } catch (err) {
      if (!isKeelError(err, 'RESOURCE_ALREADY_EXISTS')) throw err;
      const running = await this.running(model);
      return insert('skipped', running ? { runningId: running.id } : {});
    }
  }

  async heartbeat(id: number): Promise<void> {
    await this.db.run("UPDATE retrainings SET heartbeat_at = ? WHERE id = ? AND status = 'running'", [
      this.clock.now(),
      id,
    ]);
  }

  /** Saves what a running retraining has done so far. */
  async progress(id: number, result: RetrainResult): Promise<void> {
    await this.db.run(
      "UPDATE retrainings SET result = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'",
      [JSON.stringify(result), this.clock.now(), id],
    );
  }

  async finish(
    id: number,
    status: 'succeeded' | 'failed',
    result: RetrainResult,
    error?: string,
  ): Promise<Retraining> {
    await this.db.run(
      "UPDATE retrainings SET status = ?, finished_at = ?, result = ?, error = ? WHERE id = ? AND status = 'running'",
      [status, this.clock.now(), JSON.stringify(result), error ?? null, id],
    );
    return this.get(id);
  }

  /** @throws KeelError RESOURCE_DOES_NOT_EXIST */
  async get(id: number): Promise<Retraining> {
    const row = await this.db.get<Row>('SELECT * FROM retrainings WHERE id = ?', [id]);
    if (!row) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `retraining ${id} does not exist`);
    return retrainingOf(row);
  }

  async running(model: string): Promise<Retraining | undefined> {
    const row = await this.db.get<Row>("SELECT * FROM retrainings WHERE model = ? AND status = 'running'", [
      model,
    ]);
    return row ? retrainingOf(row) : undefined;
  }

  /** The latest retraining started by `cause` (skipped ones aside), for a trigger's cooldown. */
  async lastStarted(model: string, cause: RetrainCause): Promise<Retraining | undefined> {
    const row = await this.db.get<Row>(
      `SELECT * FROM retrainings WHERE model = ? AND cause = ? AND status <> 'skipped' ORDER BY started_at DESC, id DESC LIMIT 1`,
      [model, cause],
    );
    return row ? retrainingOf(row) : undefined;
  }

  /** Retrainings, newest first, of one model or every. */
  async history(model?: string, limit = 50): Promise<Retraining[]> {
    const rows = await this.db.all<Row>(
      `SELECT * FROM retrainings ${model === undefined ? '' : 'WHERE model = ?'} ORDER BY started_at DESC, id DESC LIMIT ?`,
      model === undefined ? [limit] : [model, limit],
    );
    return rows.map(retrainingOf);
  }
}
