/**
 * @module monitoring/alert-delivery
 * Sending alert notifications from the outbox (`alert_notifications`) to their destinations,
 * configured in keel.yaml:
 *
 * ```yaml
 * monitoring:
 *   alerts:
 *     destinations:
 *       - { type: log }                                     # the default when none is given
 *       - { type: webhook, url: https://ops.example/hook, secretEnv: KEEL_ALERT_SECRET }
 *       - { type: alertmanager, url: http://127.0.0.1:9093 }
 *     retry: { baseDelayMs: 1000, maxDelayMs: 300000 }
 * ```
 *
 * - log: one structured line per notification on the process's logger;
 * - webhook: the registry's signed delivery (`postWebhook`, HMAC-SHA256 in `X-Keel-Signature`),
 *   events `alert.firing` and `alert.resolved`, the alert as `data`;
 * - alertmanager: Alertmanager's API v2, `POST <url>/api/v2/alerts`, labels `alertname` (from the
 *   rule), `model`, `version`, `rule`, `subject`, `severity`. Alertmanager resolves an alert it
 *   stops hearing about, so each run re-sends a firing alert with `endsAt` three windows ahead
 *   (on the wall clock), and a resolved one is sent with `endsAt` at its resolution.
 *
 * A failed attempt is retried with exponential backoff (capped), forever: the notification stays
 * in the database until a destination takes it, across restarts. A notification is claimed before
 * it is sent, so two processes never send the same one at once, and a resolution never overtakes
 * the firing notification of the same alert to the same destination.
 */
import { z } from 'zod';
import { type Clock, KeelError, type Logger, parseInput, shortId, silentLogger } from '../core/index.js';
import { postWebhook, webhookBody } from '../registry/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { type Alert, alertOf, type NotificationKind, type NotificationTargets } from './alerts.js';
import type { AlertRule } from './monitor-checks.js';

const destinationSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log'), name: z.string().min(1).optional() }),
  z.strictObject({
    type: z.literal('webhook'),
    name: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }),
    secret: z.string().optional(),
    /** The environment variable holding the secret (kept out of keel.yaml). */
    secretEnv: z.string().min(1).optional(),
  }),
  z.strictObject({
    type: z.literal('alertmanager'),
    name: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/, message: 'must be an http or https URL' }),
  }),
]);

const alertsSchema = z.strictObject({
  destinations: z.array(destinationSchema).default([{ type: 'log' }]),
  retry: z
    .strictObject({
      baseDelayMs: z.number().int().positive().default(1000),
      maxDelayMs: z.number().int().positive().default(300_000),
    })
    .prefault({}),
  /** Per attempt, in ms. */
  timeoutMs: z.number().int().positive().default(5000),
});

export type Destination =
  | { name: string; type: 'log' }
  | { name: string; type: 'webhook'; url: string; secret: string }
  | { name: string; type: 'alertmanager'; url: string };

export interface AlertSettings {
  destinations: Destination[];
  retry: { baseDelayMs: number; maxDelayMs: number };
  timeoutMs: number;
}

/**
 * `monitoring.alerts` of keel.yaml, validated; a destination is named by `name`, else by its type
 * and URL.
 * @throws KeelError INVALID_PARAMETER_VALUE naming the key, or the missing secret variable.
 */
export function alertSettings(section: unknown, env: NodeJS.ProcessEnv = process.env): AlertSettings {
  const parsed = parseInput(alertsSchema, section ?? {}, 'keel.yaml monitoring.alerts');
  const destinations = parsed.destinations.map((d, i): Destination => {
    if (d.type === 'log') return { type: 'log', name: d.name ?? 'log' };
    if (d.type === 'alertmanager')
      return {
        type: 'alertmanager',
        name: d.name ?? `alertmanager:${d.url}`,
        url: d.url.replace(/\/+$/, ''),
      };
    let secret = d.secret ?? '';
    if (d.secretEnv !== undefined) {
      const value = env[d.secretEnv];
      if (!value)
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `keel.yaml monitoring.alerts.destinations.${i}.secretEnv names ${d.secretEnv}, which is not set`,
        );
      secret = value;
    }
    return { type: 'webhook', name: d.name ?? `webhook:${d.url}`, url: d.url, secret };
  });
  const names = destinations.map((d) => d.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `keel.yaml monitoring.alerts.destinations: '${twice}' is given twice (give each a distinct name)`,
    );
  return { destinations, retry: parsed.retry, timeoutMs: parsed.timeoutMs };
}

/** The destinations each kind of notification goes to. */
export function notificationTargets(settings: AlertSettings): NotificationTargets {
  return {
    all: settings.destinations.map((d) => d.name),
    refresh: settings.destinations.filter((d) => d.type === 'alertmanager').map((d) => d.name),
  };
}

/** A notification waiting in the outbox. */
export interface PendingNotification {
  id: number;
  alertId: number;
  destination: string;
  kind: NotificationKind;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
}

export interface DeliveryReport {
  delivered: number;
  failed: number;
}

const ALERT_NAMES: Record<AlertRule, string> = {
  schema: 'KeelSchemaDrift',
  missing_share: 'KeelMissingValues',
  out_of_range: 'KeelOutOfRange',
  psi: 'KeelFeatureDrift',
  prediction_drift: 'KeelPredictionDrift',
  performance_drop: 'KeelPerformanceDrop',
  latency_p99: 'KeelHighLatency',
  error_rate: 'KeelHighErrorRate',
  volume: 'KeelTrafficVolume',
};

/** How an alert reads to a person. */
export function alertSummary(a: Alert): string {
  const version = a.version ? ` version ${a.version}` : '';
  return `${a.rule} on ${a.subject} of ${a.model}${version}`;
}

function describe(a: Alert): string {
  const e = a.latest;
  return `${e.detail}: ${e.value} against ${e.threshold} (window ${new Date(e.window.start).toISOString()} .. ${new Date(e.window.end).toISOString()})`;
}

/**
 * Alertmanager's API v2 body for one alert. A firing alert is kept alive for three windows (at
 * least 15 minutes) past this send, counted on the wall clock (`wallNow`): Alertmanager expires
 * alerts on its own clock, whatever time a replay has moved Keel's process to.
 */
export function alertmanagerAlert(a: Alert, kind: NotificationKind, wallNow: number) {
  const windowMs = a.latest.window.end - a.latest.window.start;
  const endsAt = kind === 'resolved' ? (a.resolvedAt ?? wallNow) : wallNow + Math.max(3 * windowMs, 900_000);
  return {
    labels: {
      alertname: ALERT_NAMES[a.rule],
      model: a.model,
      version: a.version,
      rule: a.rule,
      subject: a.subject,
      severity: a.rule === 'error_rate' || a.rule === 'schema' ? 'critical' : 'warning',
      source: 'keel',
    },
    annotations: { summary: alertSummary(a), description: describe(a) },
    startsAt: new Date(a.startedAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
}

interface PendingRow {
  id: number;
  alert_id: number;
  destination: string;
  kind: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

export class AlertNotifier {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
    readonly settings: AlertSettings,
    private readonly logger: Logger = silentLogger,
  ) {}

  /**
   * Sends every notification that is due, oldest first; failures are rescheduled, never thrown.
   */
  async deliverDue(limit = 200): Promise<DeliveryReport> {
    const now = this.clock.now();
    const due = await this.db.all<PendingRow>(
      `SELECT n.* FROM alert_notifications n
       WHERE n.delivered_at IS NULL AND n.next_attempt_at <= ? AND (n.claimed_until IS NULL OR n.claimed_until < ?)
         AND NOT EXISTS (SELECT 1 FROM alert_notifications p WHERE p.alert_id = n.alert_id
           AND p.destination = n.destination AND p.delivered_at IS NULL AND p.id < n.id)
       ORDER BY n.id LIMIT ?`,
      [now, now, limit],
    );
    const report: DeliveryReport = { delivered: 0, failed: 0 };
    for (const row of due) {
      // Claimed for two attempt timeouts: another process skips it meanwhile.
      const { changes } = await this.db.run(
        `UPDATE alert_notifications SET claimed_until = ?
         WHERE id = ? AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)`,
        [now + 2 * this.settings.timeoutMs, row.id, now],
      );
      if (changes === 0) continue;
      const alertRow = await this.db.get<Parameters<typeof alertOf>[0]>(
        'SELECT * FROM monitoring_alerts WHERE id = ?',
        [row.alert_id],
      );
      const destination = this.settings.destinations.find((d) => d.name === row.destination);
      const error = !alertRow
        ? 'the alert no longer exists'
        : !destination
          ? undefined
          : await this.send(destination, alertOf(alertRow), row.kind as NotificationKind);
      const at = this.clock.now();
      if (error === undefined || !destination) {
        // A destination no longer configured takes nothing more: the notification is closed.
        await this.db.run(
          'UPDATE alert_notifications SET delivered_at = ?, attempts = attempts + 1, claimed_until = NULL, last_error = ? WHERE id = ?',
          [at, destination ? null : 'destination no longer configured', row.id],
        );
        report.delivered++;
      } else {
        const attempts = Number(row.attempts) + 1;
        const delay = Math.min(
          this.settings.retry.maxDelayMs,
          this.settings.retry.baseDelayMs * 2 ** (attempts - 1),
        );
        await this.db.run(
          'UPDATE alert_notifications SET attempts = ?, next_attempt_at = ?, claimed_until = NULL, last_error = ? WHERE id = ?',
          [attempts, at + delay, error.slice(0, 1000), row.id],
        );
        if (attempts === 1 || attempts % 10 === 0)
          this.logger.warn(
            { destination: row.destination, alert: row.alert_id, attempts, error },
            'an alert notification could not be delivered: it is retried',
          );
        report.failed++;
      }
    }
    return report;
  }

  /** Notifications not yet delivered, oldest first. */
  async pending(): Promise<PendingNotification[]> {
    const rows = await this.db.all<PendingRow>(
      'SELECT * FROM alert_notifications WHERE delivered_at IS NULL ORDER BY id',
    );
    return rows.map((r) => ({
      id: Number(r.id),
      alertId: Number(r.alert_id),
      destination: r.destination,
      kind: r.kind as NotificationKind,
      createdAt: Number(r.created_at),
      attempts: Number(r.attempts),
      nextAttemptAt: Number(r.next_attempt_at),
      lastError: r.last_error,
    }));
  }

  /** One attempt; the error's text when it failed. */
  private async send(d: Destination, alert: Alert, kind: NotificationKind): Promise<string | undefined> {
    if (d.type === 'log') {
      const line = { alert: alertSummary(alert), id: alert.id, status: alert.status, evidence: alert.latest };
      if (kind === 'resolved') this.logger.info(line, `alert resolved: ${alertSummary(alert)}`);
      else if (kind === 'firing') this.logger.warn(line, `alert firing: ${alertSummary(alert)}`);
      return undefined;
    }
    if (d.type === 'webhook') {
      if (kind === 'refresh') return undefined;
      const event = `alert.${kind}`;
      const id = shortId(8);
      const body = webhookBody(event, id, this.clock.now(), alert as unknown as Record<string, unknown>);
      const result = await postWebhook(d, event, id, body, this.settings.timeoutMs);
      return result.success
        ? undefined
        : (result.error_message ?? `the receiver answered ${result.response_status}`);
    }
    try {
      const res = await fetch(`${d.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([alertmanagerAlert(alert, kind, Date.now())]),
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      });
      const text = await res.text();
      return res.ok ? undefined : `Alertmanager answered ${res.status}: ${text.slice(0, 200)}`;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
