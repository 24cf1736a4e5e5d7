/**
 * @module registry/webhooks
 * Webhook subscriptions (MLflow 3's shape: `{webhook_id, name, url, events[{entity, action}],
 * description, status}`; the secret is write-only). MLflow's registry events plus Keel's own:
 * `model_version.stage_changed`, `approval.requested`, `approval.given`.
 */
import { type Clock, KeelError, shortId } from '../core/index.js';
import type { SqlDatabase } from '../storage/index.js';
import { decodePageToken, pageOf } from '../tracking/index.js';
import { validateMax } from './search.js';

export const WEBHOOK_EVENTS = [
  'registered_model.created',
  'model_version.created',
  'model_version_tag.set',
  'model_version_tag.deleted',
  'model_version_alias.created',
  'model_version_alias.deleted',
  'model_version.stage_changed',
  'approval.requested',
  'approval.given',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEvent {
  entity: string;
  action: string;
}
export type WebhookStatus = 'ACTIVE' | 'DISABLED';

export interface Webhook {
  webhook_id: string;
  name: string;
  description: string;
  url: string;
  events: WebhookEvent[];
  status: WebhookStatus;
  creation_timestamp: number;
  last_updated_timestamp: number;
}

export interface WebhookInput {
  name?: string;
  url?: string;
  /** `model_version.created` or `{entity: 'model_version', action: 'created'}`. */
  events?: Array<string | WebhookEvent>;
  secret?: string;
  description?: string;
  status?: WebhookStatus;
}

interface WebhookRow extends Omit<Webhook, 'events'> {
  events: string;
  secret: string;
}

const bad = (message: string) => new KeelError('INVALID_PARAMETER_VALUE', message);

function parseEvents(events: Array<string | WebhookEvent>): WebhookEventName[] {
  if (events.length === 0) throw bad('A webhook needs at least one event');
  return events.map((e) => {
    const name = typeof e === 'string' ? e : `${e.entity}.${e.action}`;
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(name)) {
      throw bad(`Unknown webhook event '${name}': use one of ${WEBHOOK_EVENTS.join(', ')}`);
    }
    return name as WebhookEventName;
  });
}

function validateUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(`Invalid webhook URL '${url}'`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw bad(`Webhook URL '${url}' must use http or https`);
  }
  return url;
}

const toEvent = (name: string): WebhookEvent => {
  const dot = name.indexOf('.');
  return { entity: name.slice(0, dot), action: name.slice(dot + 1) };
};

function fromRow(r: WebhookRow): Webhook {
  return {
    webhook_id: r.webhook_id,
    name: r.name,
    description: r.description,
    url: r.url,
    events: (JSON.parse(r.events) as string[]).map(toEvent),
    status: r.status,
    creation_timestamp: r.creation_timestamp,
    last_updated_timestamp: r.last_updated_timestamp,
  };
}

export class WebhookStore {
  constructor(
    private readonly db: SqlDatabase,
    private readonly clock: Clock,
  ) {}

  /** @throws INVALID_PARAMETER_VALUE for a missing name, a bad URL or an unknown event. */
  async create(input: WebhookInput): Promise<Webhook> {
    if (!input.name) throw bad('A webhook needs a name');
    const url = validateUrl(input.url ?? '');
    const events = parseEvents(input.events ?? []);
    const id = shortId(16);
    const now = this.clock.now();
    await this.db.run(
      `INSERT INTO webhooks (webhook_id, name, url, events, secret, description, status, creation_timestamp, last_updated_timestamp)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        input.name,
        url,
        JSON.stringify(events),
        input.secret ?? '',
        input.description ?? '',
        input.status ?? 'ACTIVE',
        now,
        now,
      ],
    );
    return this.get(id);
  }

  private async row(id: string): Promise<WebhookRow> {
    const row = await this.db.get<WebhookRow>('SELECT * FROM webhooks WHERE webhook_id = ?', [id]);
    if (!row) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Webhook '${id}' does not exist`);
    return row;
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async get(id: string): Promise<Webhook> {
    return fromRow(await this.row(id));
  }

  async list(
    options: { maxResults?: number; pageToken?: string } = {},
  ): Promise<{ items: Webhook[]; next_page_token?: string }> {
    const max = validateMax(options.maxResults, 100, 1000);
    const offset = decodePageToken(options.pageToken);
    const rows = await this.db.all<WebhookRow>(
      'SELECT * FROM webhooks ORDER BY creation_timestamp ASC, webhook_id ASC LIMIT ? OFFSET ?',
      [max + 1, offset],
    );
    const page = pageOf(rows, offset, max);
    return { items: page.items.map(fromRow), next_page_token: page.next_page_token };
  }

  /** Changes the given fields. @throws RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE */
  async update(id: string, input: WebhookInput): Promise<Webhook> {
    const current = await this.row(id);
    const events = input.events ? JSON.stringify(parseEvents(input.events)) : current.events;
    await this.db.run(
      `UPDATE webhooks SET name = ?, url = ?, events = ?, secret = ?, description = ?, status = ?, last_updated_timestamp = ?
       WHERE webhook_id = ?`,
      [
        input.name ?? current.name,
        input.url === undefined ? current.url : validateUrl(input.url),
        events,
        input.secret ?? current.secret,
        input.description ?? current.description,
        input.status ?? current.status,
        this.clock.now(),
        id,
      ],
    );
    return this.get(id);
  }

  /** @throws RESOURCE_DOES_NOT_EXIST */
  async delete(id: string): Promise<void> {
    const { changes } = await this.db.run('DELETE FROM webhooks WHERE webhook_id = ?', [id]);
    if (changes === 0) throw new KeelError('RESOURCE_DOES_NOT_EXIST', `Webhook '${id}' does not exist`);
  }

  /** Active subscribers of `event`, with their secrets, for delivery. */
  async subscribers(
    event: WebhookEventName,
  ): Promise<Array<{ webhook_id: string; url: string; secret: string }>> {
    const rows = await this.db.all<WebhookRow>("SELECT * FROM webhooks WHERE status = 'ACTIVE'");
    return rows
      .filter((r) => (JSON.parse(r.events) as string[]).includes(event))
      .map((r) => ({ webhook_id: r.webhook_id, url: r.url, secret: r.secret }));
  }

  /** The secret of one webhook, for a test delivery. */
  async target(id: string): Promise<{ webhook_id: string; url: string; secret: string }> {
    const r = await this.row(id);
    return { webhook_id: r.webhook_id, url: r.url, secret: r.secret };
  }
}
