/**
 * @module registry/audit
 * The append-only audit log: every registration, stage or alias change, promotion attempt,
 * approval, override and rollback, with who, when, from, to, the gate results and the reason.
 * Entries are written in the same transaction as the change they describe, so the log never
 * claims a change that did not happen (refused attempts are logged in their own transaction).
 */
import type { SqlDatabase, SqlExecutor } from '../storage/index.js';

export type AuditAction =
  | 'register'
  | 'create_model'
  | 'rename_model'
  | 'delete_model'
  | 'delete_version'
  | 'stage'
  | 'alias_set'
  | 'alias_delete'
  | 'promote'
  | 'approval_requested'
  | 'approve'
  | 'reject'
  | 'override'
  | 'rollback'
  /** The sha256 of a version's files, recorded for a version registered before Keel kept them. */
  | 'files_recorded'
  /** Files under `models/` that no version holds, deleted through the artifact proxy. */
  | 'delete_files'
  /** A server kept serving its version rather than swap to one that cannot take its requests. */
  | 'serving_refused';

/** `applied` changed the registry; `refused` and `pending` did not. */
export type AuditOutcome = 'applied' | 'refused' | 'pending';

export interface AuditEntry {
  id: number;
  /** ms since the epoch */
  ts: number;
  actor: string;
  action: AuditAction;
  outcome: AuditOutcome;
  name: string;
  version?: string;
  from?: string;
  to?: string;
  gates?: unknown;
  reason: string;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

interface AuditRow {
  id: number;
  ts: number;
  actor: string;
  action: AuditAction;
  outcome: AuditOutcome;
  name: string;
  version: number | null;
  from_value: string | null;
  to_value: string | null;
  gates: string | null;
  reason: string;
}

export class AuditLog {
  constructor(private readonly db: SqlDatabase) {}

  /** Appends one entry, on `exec` when given so it commits with the change. */
  async append(entry: NewAuditEntry, exec: SqlExecutor = this.db): Promise<void> {
    await exec.run(
      `INSERT INTO registry_audit (ts, actor, action, outcome, name, version, from_value, to_value, gates, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        entry.ts,
        entry.actor,
        entry.action,
        entry.outcome,
        entry.name,
        entry.version === undefined ? null : Number(entry.version),
        entry.from ?? null,
        entry.to ?? null,
        entry.gates === undefined ? null : JSON.stringify(entry.gates),
        entry.reason,
      ],
    );
  }

  /** A model's entries, oldest first. */
  async list(name: string, options: { limit?: number } = {}): Promise<AuditEntry[]> {
    const rows = await this.db.all<AuditRow>(
      'SELECT * FROM registry_audit WHERE name = ? ORDER BY id ASC LIMIT ?',
      [name, options.limit ?? 10_000],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      ts: r.ts,
      actor: r.actor,
      action: r.action,
      outcome: r.outcome,
      name: r.name,
      ...(r.version === null ? {} : { version: String(r.version) }),
      ...(r.from_value === null ? {} : { from: r.from_value }),
      ...(r.to_value === null ? {} : { to: r.to_value }),
      ...(r.gates === null ? {} : { gates: JSON.parse(r.gates) }),
      reason: r.reason,
    }));
  }
}
