/**
 * @module registry/delivery
 * Webhook delivery: a JSON POST signed with HMAC-SHA256 of the body under the webhook's secret
 * (`X-Keel-Signature: sha256=<hex>`), retried with exponential backoff on a network error or a
 * non-2xx answer, every attempt written to `webhook_deliveries`. Deliveries run after the change
 * commits and never fail the change that caused them.
 */
import { createHmac } from 'node:crypto';
import { type Clock, shortId } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import type { WebhookEventName, WebhookStore } from './webhooks.js';

export interface DeliveryOptions {
  /** Attempts per delivery, the first included (default 4). */
  maxAttempts?: number;
  /** Delay before the first retry in ms, doubled each time (default 500). */
  baseDelayMs?: number;
  /** Per-attempt timeout in ms (default 5000). */
  timeoutMs?: number;
}

export interface DeliveryRecord {
  webhook_id: string;
  delivery_id: string;
  event: string;
  attempt: number;
  ts: number;
  status_code?: number;
  error?: string;
  success: boolean;
}

export interface TestResult {
  success: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, body): what a receiver recomputes to trust a delivery. */
export const signPayload = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The body every Keel webhook delivery carries: `{delivery_id, event, entity, action, timestamp,
 * data}`, the event named `entity.action`.
 */
export function webhookBody(
  event: string,
  deliveryId: string,
  timestamp: number,
  data: Record<string, unknown>,
): string {
  const dot = event.indexOf('.');
  return JSON.stringify({
    delivery_id: deliveryId,
    event,
    entity: event.slice(0, dot),
    action: event.slice(dot + 1),
    timestamp,
    data,
  });
}

/**
 * One delivery attempt: a JSON POST with `X-Keel-Event`, `X-Keel-Delivery` and, with a secret,
 * `X-Keel-Signature`; what the receiver answered, or the network error. Never throws.
 */
export async function postWebhook(
  target: { url: string; secret: string },
  event: string,
  deliveryId: string,
  body: string,
  timeoutMs: number,
): Promise<TestResult> {
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-keel-event': event,
        'x-keel-delivery': deliveryId,
        ...(target.secret ? { 'x-keel-signature': signPayload(target.secret, body) } : {}),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    return { success: res.ok, response_status: res.status, response_body: text.slice(0, 1000) };
  } catch (err) {
    return { success: false, error_message: (err as Error).message };
  }
}

export class WebhookDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly options: Required<DeliveryOptions>;

  constructor(
    private readonly db: SqlDatabase,
    private readonly hooks: WebhookStore,
    private readonly clock: Clock,
    options: DeliveryOptions = {},
  ) {
    this.options = { maxAttempts: 4, baseDelayMs: 500, timeoutMs: 5000, ...options };
  }

  /** Queues `event` to every active subscriber; returns at once. */
  emit(event: WebhookEventName, data: Record<string, unknown>): void {
    const job = this.hooks
      .subscribers(event)
      .then((targets) => Promise.all(targets.map((t) => this.deliver(t, event, data))))
      .then(() => {})
      .catch(() => {});
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  }

  /** Waits for every queued delivery (and its retries) to finish. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private body(event: string, deliveryId: string, data: Record<string, unknown>): string {
    return webhookBody(event, deliveryId, this.clock.now(), data);
  }

  private async attempt(
    target: { webhook_id: string; url: string; secret: string },
    event: string,
    deliveryId: string,
    body: string,
    attempt: number,
  ): Promise<TestResult> {
    const result = await postWebhook(target, event, deliveryId, body, this.options.timeoutMs);
    await this.db
      .run(
        `INSERT INTO webhook_deliveries (webhook_id, delivery_id, event, attempt, ts, status_code, error, success)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          target.webhook_id,
          deliveryId,
          event,
          attempt,
          this.clock.now(),
          result.response_status ?? null,
          result.error_message ?? null,
          result.success ? 1 : 0,
        ],
      )
      .catch(() => {});
    return result;
  }

  private async deliver(
    target: { webhook_id: string; url: string; secret: string },
    event: string,
    data: Record<string, unknown>,
  ): Promise<TestResult> {
    const deliveryId = shortId(8);
    const body = this.body(event, deliveryId, data);
    let result: TestResult = { success: false };
    for (let attempt = 1; attempt <= this.options.maxAttempts; attempt++) {
      result = await this.attempt(target, event, deliveryId, body, attempt);
      if (result.success) break;
      if (attempt < this.options.maxAttempts) await sleep(this.options.baseDelayMs * 2 ** (attempt - 1));
    }
    return result;
  }

  /** Sends one test event to a webhook, once, and reports what its receiver answered. */
  async test(webhookId: string): Promise<TestResult> {
    const target = await this.hooks.target(webhookId);
    const deliveryId = shortId(8);
    const body = this.body('webhook.test', deliveryId, { webhook_id: webhookId });
    return this.attempt(target, 'webhook.test', deliveryId, body, 1);
  }

  /** A webhook's delivery log, oldest first. */
  async deliveries(webhookId: string): Promise<DeliveryRecord[]> {
    const rows = await this.db.all<
      Omit<DeliveryRecord, 'success'> & { success: number; status_code: number | null; error: string | null }
    >(
      'SELECT webhook_id, delivery_id, event, attempt, ts, status_code, error, success FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id ASC',
      [webhookId],
    );
    return rows.map((r) => ({
      webhook_id: r.webhook_id,
      delivery_id: r.delivery_id,
      event: r.event,
      attempt: r.attempt,
      ts: r.ts,
      ...(r.status_code === null ? {} : { status_code: r.status_code }),
      ...(r.error === null ? {} : { error: r.error }),
      success: r.success === 1,
    }));
  }
}
