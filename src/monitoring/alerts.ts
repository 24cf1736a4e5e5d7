/**
 * @module monitoring/alerts
 * Alerts from monitor runs, their whole lifecycle in the metadata database. An alert is one rule
 * on one subject (a feature, the scores, a metric, the service) of one model version:
 * - it fires once, when a run first finds the rule breached: one row `firing` (a unique index
 *   allows one firing row per rule, so two runs at once cannot fire it twice), carrying its
 *   evidence (the run, window, figure, threshold, version);
 * - later breaching runs update its latest evidence and fire nothing new;
 * - it resolves when a run judges the rule clear; a run that cannot judge it (no data, too few
 *   rows) leaves it as it is, since "no data" is not "clear";
 * - each change queues one notification per destination in the same transaction (the outbox
 *   `alert-delivery` sends and retries), so a crash between the change and its delivery loses
 *   nothing.
 */
import type { Clock } from '../core/index.js';
import type { SqlDatabase, SqlExecutor } from '../storage/index.js';
import type { AlertRule, Evaluation } from './monitor-checks.js';
import type { MonitorReport } from './monitor-report.js';

export type AlertStatus = 'firing' | 'resolved';

/** What a run saw when it judged the alert's rule. */
export interface AlertEvidence {
  runId: number;
  window: { start: number; end: number };
  value: number | null;
  threshold: number;
  detail: string;
}

export interface Alert {
  id: number;
  model: string;
  /** The version judged ('' for model-wide rules). */
  version: string;
  rule: AlertRule;
  subject: string;
  status: AlertStatus;
  startedAt: number;
  resolvedAt: number | null;
  updatedAt: number;
  threshold: number;
  /** The evidence of the run that fired it. */
  evidence: AlertEvidence;
  /** The evidence of the latest run that judged it (the resolving one once resolved). */
  latest: AlertEvidence;
}

/** A notification kind: `refresh` re-sends a firing alert to Alertmanager, which expires silent ones. */
export type NotificationKind = 'firing' | 'resolved' | 'refresh';

export interface AlertChanges {
  fired: Alert[];
  resolved: Alert[];
  /** Firing before and still breached. */
  ongoing: Alert[];
}

interface AlertRow {
  id: number;
  model: string;
  version: string;
  rule: string;
  subject: string;
  status: string;
  started_at: number;
  resolved_at: number | null;
  updated_at: number;
  threshold: number;
  evidence: string;
  latest: string;
}

export function alertOf(r: AlertRow): Alert {
  return {
    id: Number(r.id),
    model: r.model,
    version: r.version,
    rule: r.rule as AlertRule,
    subject: r.subject,
    status: r.status as AlertStatus,
    startedAt: Number(r.started_at),
    resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
    updatedAt: Number(r.updated_at),
    threshold: Number(r.threshold),
    evidence: JSON.parse(r.evidence),
    latest: JSON.parse(r.latest),
  };
}

const evidenceOf = (report: MonitorReport, e: Evaluation): AlertEvidence => ({
  runId: report.id as number,
  window: report.window,
  value: e.value,
  threshold: e.threshold,
  detail: e.detail,
});

/** Which destinations get which kinds of notification. */
export interface NotificationTargets {
  /** Destinations notified when an alert fires or resolves. */
  all: string[];
  /** Destinations that need a firing alert re-sent at every run (Alertmanager). */
  refresh: string[];
}

export class AlertStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  /**
   * Applies a stored run's evaluations to the alerts, queueing notifications for `targets`, in
   * one transaction.
   */
  async apply(report: MonitorReport, targets: NotificationTargets): Promise<AlertChanges> {
    const changes: AlertChanges = { fired: [], resolved: [], ongoing: [] };
    if (report.id === undefined) throw new Error('a monitor run is applied to alerts once stored');
    const now = this.clock.now();
    await this.db.transaction(async (tx) => {
      for (const e of report.evaluations) {
        const firing = await tx.get<AlertRow>(
          `SELECT * FROM monitoring_alerts WHERE model = ? AND version = ? AND rule = ? AND subject = ? AND status = 'firing'`,
          [report.model, e.version, e.rule, e.subject],
        );
        const evidence = JSON.stringify(evidenceOf(report, e));
        if (e.breached && !firing) {
          await tx.run(
            `INSERT INTO monitoring_alerts (model, version, rule, subject, status, started_at, updated_at, threshold, evidence, latest)
             VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?)`,
            [report.model, e.version, e.rule, e.subject, now, now, e.threshold, evidence, evidence],
          );
          const row = (await tx.get<AlertRow>(
            `SELECT * FROM monitoring_alerts WHERE model = ? AND version = ? AND rule = ? AND subject = ? AND status = 'firing'`,
            [report.model, e.version, e.rule, e.subject],
          )) as AlertRow;
          changes.fired.push(alertOf(row));
          await queue(tx, row.id, targets.all, 'firing', now);
        } else if (e.breached && firing) {
          await tx.run('UPDATE monitoring_alerts SET updated_at = ?, latest = ? WHERE id = ?', [
            now,
            evidence,
            firing.id,
          ]);
          changes.ongoing.push(alertOf({ ...firing, updated_at: now, latest: evidence }));
          await queueRefresh(tx, firing.id, targets.refresh, now);
        } else if (!e.breached && firing) {
          await tx.run(
            `UPDATE monitoring_alerts SET status = 'resolved', resolved_at = ?, updated_at = ?, latest = ? WHERE id = ?`,
            [now, now, evidence, firing.id],
          );
          changes.resolved.push(
            alertOf({ ...firing, status: 'resolved', resolved_at: now, updated_at: now, latest: evidence }),
          );
          await queue(tx, firing.id, targets.all, 'resolved', now);
        }
      }
    });
    return changes;
  }

  /** Alerts, newest first: firing ones (default), resolved ones or all; of one model or every. */
  async list(
    options: { model?: string; status?: AlertStatus | 'all'; limit?: number } = {},
  ): Promise<Alert[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (options.model !== undefined) {
      where.push('model = ?');
      params.push(options.model);
    }
    const status = options.status ?? 'firing';
    if (status !== 'all') {
      where.push('status = ?');
      params.push(status);
    }
    const rows = await this.db.all<AlertRow>(
      `SELECT * FROM monitoring_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_at DESC, id DESC LIMIT ?`,
      [...params, options.limit ?? 100],
    );
    return rows.map(alertOf);
  }
}

async function queue(
  tx: SqlExecutor,
  alertId: number,
  destinations: string[],
  kind: NotificationKind,
  now: number,
): Promise<void> {
  for (const destination of destinations)
    await tx.run(
      'INSERT INTO alert_notifications (alert_id, destination, kind, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)',
      [alertId, destination, kind, now, now],
    );
}

/** A refresh is queued only when none is waiting already: a destination that is down gets one. */
async function queueRefresh(
  tx: SqlExecutor,
  alertId: number,
  destinations: string[],
  now: number,
): Promise<void> {
  for (const destination of destinations) {
    const waiting = await tx.get(
      'SELECT id FROM alert_notifications WHERE alert_id = ? AND destination = ? AND delivered_at IS NULL',
      [alertId, destination],
    );
    if (!waiting) await queue(tx, alertId, [destination], 'refresh', now);
  }
}
