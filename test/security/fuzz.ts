/**
 * A seeded fuzzer over every route of the route table: each request picks a route and breaks it
 * one way or several (malformed JSON, wrong types, huge and prototype-named fields, NUL bytes,
 * lone surrogates and other unicode, out-of-range numbers, path tricks, odd content types and
 * tokens), sends it as raw HTTP and records any answer of 500 or more. The same seed sends the same
 * requests, so a failure replays. `test/security/fuzz.test.ts` runs a bounded count against SQLite
 * and PostgreSQL; `bench/security/fuzz.ts` runs as many as asked.
 */
import { random } from '../features/helpers.js';
import { type RawResponse, rawRequest } from './raw-http.js';
import { fillPath, kitchenSink } from './requests.js';
import type { World } from './world.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Called after each request (progress). */
  onRequest?: (done: number) => void;
  /** Told every request and its answer (to study what the fuzz reaches). */
  onAnswer?: (method: string, target: string, response: RawResponse) => void;
}

export interface FuzzReport {
  sent: number;
  /** Requests answered with a status >= 500, one line each, replayable by seed and index. */
  failures: string[];
  /** How many answers had each status. */
  statuses: Record<number, number>;
}

type Rng = () => number;

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)];

const FIELDS = [
  'name',
  'new_name',
  'version',
  'stage',
  'stages',
  'alias',
  'source',
  'description',
  'experiment_id',
  'experiment_ids',
  'experiment_name',
  'artifact_location',
  'run_id',
  'run_uuid',
  'run_ids',
  'run_name',
  'run_view_type',
  'view_type',
  'user_id',
  'start_time',
  'end_time',
  'status',
  'key',
  'value',
  'timestamp',
  'step',
  'metrics',
  'params',
  'tags',
  'metric_key',
  'start_step',
  'end_step',
  'filter',
  'order_by',
  'max_results',
  'page_token',
  'path',
  'model_id',
  'model_json',
  'model_type',
  'source_run_id',
  'datasets',
  'models',
  'tag_key',
  'artifact_directory_path',
  'archive_existing_versions',
  'override',
  'reason',
  'request_id',
  'url',
  'events',
  'secret',
  'feature_service',
  'features',
  'entities',
  'full_feature_names',
  'feature_views',
  'start_ts',
  'end_ts',
  'push_source_name',
  'df',
  'to',
  'rows',
  'model',
  'inputs',
  'instances',
  'dataframe_split',
  'dataframe_records',
  'columns',
  'data',
  'outputs',
  'parameters',
  'id',
  'label',
  'row',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
];

const NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'prototype',
  'isPrototypeOf',
];

function nastyStrings(ids: World['ids']): string[] {
  return [
    '',
    ' ',
    '\0',
    'a\0b',
    ...NAMES,
    '9223372036854775807',
    '9223372036854775808',
    '-9223372036854775809',
    '1'.repeat(400),
    '1e400',
    'NaN',
    'Infinity',
    '-1',
    '0',
    '1.5',
    '%',
    '100%25',
    '%zz',
    '#',
    '?',
    '../../../etc/passwd',
    '..',
    '.',
    '/',
    '//x',
    '\\',
    'C:\\x',
    'ü',
    '日本語',
    '\ud800',
    'a\udfffb',
    '😀',
    'x'.repeat(300),
    'y'.repeat(70_000),
    "'; DROP TABLE runs; --",
    'name = "x"',
    "attributes.run_name = 'r'",
    'metrics.roc_auc > 0.5 AND',
    "tags.`t` = 'v'",
    "params.constructor = '1'",
    'metrics.__proto__ > 1',
    "name LIKE '%'",
    'churn',
    '1',
    '2',
    ids.experimentId,
    ids.runId,
    ids.loggedModelId,
    ids.webhookId,
    'models:/churn/1',
    `models:/${ids.loggedModelId}`,
    `runs:/${ids.runId}/model`,
    `runs:/${ids.runId}/../../..`,
    'mlflow-artifacts:/models/churn/1',
    'mlflow-artifacts:/../x',
    '/etc/passwd',
    '/etc',
    'file:///etc/passwd',
    'Production',
    'Staging',
    'Archived',
    'champion',
    'true',
    'null',
    'activity:orders',
    'activity:constructor',
    'constructor:orders',
    '2024-01-05T00:00:00Z',
    '1e21',
  ];
}

const NUMBERS = [
  0,
  -1,
  1,
  3,
  2 ** 31,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 63,
  -(2 ** 63),
  1e308,
  -1e308,
  1.5,
  -0,
  1e-320,
];

function value(rng: Rng, strings: string[], depth = 0): unknown {
  const r = rng();
  if (r < 0.45) return pick(rng, strings);
  if (r < 0.65) return pick(rng, NUMBERS);
  if (r < 0.7) return rng() < 0.5;
  if (r < 0.75) return null;
  if (depth > 2) return pick(rng, strings);
  if (r < 0.88) return Array.from({ length: Math.floor(rng() * 4) }, () => value(rng, strings, depth + 1));
  return object(rng, strings, depth + 1);
}

function object(rng: Rng, strings: string[], depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const n = Math.floor(rng() * 4);
  for (let i = 0; i < n; i++) {
    // defineProperty: `__proto__` becomes an own key, as JSON.parse would make it.
    Object.defineProperty(out, rng() < 0.7 ? pick(rng, FIELDS) : pick(rng, strings).slice(0, 40), {
      value: value(rng, strings, depth),
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return out;
}

function mutatedSink(rng: Rng, ids: World['ids'], strings: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = { ...kitchenSink(ids) };
  const keys = Object.keys(body);
  const changes = 1 + Math.floor(rng() * 3);
  for (let i = 0; i < changes; i++) {
    const key = rng() < 0.4 ? pick(rng, keys) : pick(rng, FIELDS);
    const r = rng();
    if (r < 0.15) delete body[key];
    else if (r < 0.3) body[key] = [body[key]];
    else if (r < 0.4 && Array.isArray(body[key]) && (body[key] as unknown[]).length > 0)
      (body[key] as unknown[])[0] = Array.isArray((body[key] as unknown[])[0])
        ? value(rng, strings)
        : { ...((body[key] as unknown[])[0] as object), [pick(rng, FIELDS)]: value(rng, strings) };
    else
      Object.defineProperty(body, key, {
        value: value(rng, strings),
        enumerable: true,
        configurable: true,
        writable: true,
      });
  }
  return body;
}

const MALFORMED = [
  '{',
  '{"name":}',
  '[',
  'null',
  '1',
  '"text"',
  '[]',
  '{"__proto__": {"polluted": 1}, "name": "churn"}',
  '{"constructor": {"prototype": {"polluted": 1}}}',
  '{"name": "churn", "name": "other"}',
  `${'['.repeat(3000)}${']'.repeat(3000)}`,
  '{"max_results": 1e99999}',
  '{"timestamp": -1e400}',
  '\u0000',
  '\ufeff{"name": "churn"}',
  '{"name": "\\ud800"}',
  '{"name": "a\\u0000b", "version": "1"}',
];

/** A body: valid-looking, random, or not JSON at all. */
function body(rng: Rng, ids: World['ids'], strings: string[]): { text: string; type: string | undefined } {
  const r = rng();
  const type =
    rng() < 0.85
      ? 'application/json'
      : pick(rng, [
          'application/json; charset=utf-8',
          'text/plain',
          'text/csv',
          'application/octet-stream',
          'application/x-www-form-urlencoded',
          undefined,
        ]);
  if (r < 0.5) return { text: JSON.stringify(mutatedSink(rng, ids, strings)), type };
  if (r < 0.8)
    return { text: JSON.stringify(rng() < 0.8 ? object(rng, strings) : value(rng, strings)), type };
  return { text: pick(rng, MALFORMED), type };
}

/** A query string: fields with string values, repeated keys, raw bad escapes. */
function query(rng: Rng, ids: World['ids'], strings: string[]): string {
  const q = new URLSearchParams();
  const sink = kitchenSink(ids);
  for (const [k, v] of Object.entries(sink)) if (rng() < 0.4 && typeof v !== 'object') q.append(k, String(v));
  const n = Math.floor(rng() * 4);
  for (let i = 0; i < n; i++) q.append(pick(rng, FIELDS), pick(rng, strings).slice(0, 2000));
  let text = q.toString();
  if (rng() < 0.1) text += pick(rng, ['&name=%zz', '&path=%00', '&filter=%', '&max_results=%2B1', '&&=']);
  return text;
}

/** Path segments to put in place of a parameter or after `/artifacts/`, percent-encoded as a client would. */
const SEGMENTS = [
  '100%25.txt',
  'a%2541.txt',
  '%E2%82%AC.txt',
  '%zz',
  '%00',
  'a%00b',
  '..%2F..%2Fetc%2Fpasswd',
  '%2E%2E',
  '..',
  'x'.repeat(300),
  '%C3%A9'.repeat(130),
  'constructor',
  '__proto__',
  '%F0%9F%98%80',
  '%ED%A0%80',
  'models',
  'a;b',
  'a%23b',
  'a%3Fb',
];

function target(rng: Rng, path: string, url: string, ids: World['ids']): string {
  let out = path;
  const r = rng();
  if (r < 0.35 && /[:*]/.test(url)) {
    // Break one parameter, or the wildcard's path.
    const parts = url.split('/');
    const at = parts.findIndex((p) => p.startsWith(':') || p === '*');
    const filled = fillPath({ method: 'GET', url: parts.slice(0, at).join('/'), permission: 'read' }, ids);
    const rest = parts.slice(at + 1);
    const tail = Array.from({ length: 1 + Math.floor(rng() * 3) }, () => pick(rng, SEGMENTS)).join('/');
    out = `${filled}/${tail}${rest.length ? `/${fillPath({ method: 'GET', url: rest.join('/'), permission: 'read' }, ids)}` : ''}`;
  } else if (r < 0.45) out = `${path}${pick(rng, ['/', '#x', '/..', '%2F', '//', '/%00', '?#'])}`;
  return out;
}

const RESEED_EVERY = 50;

/** Sends `count` fuzzed requests to `world`, sequentially, and reports every answer >= 500. */
export async function fuzz(world: World, options: FuzzOptions): Promise<FuzzReport> {
  const rng = random(options.seed);
  let strings = nastyStrings(world.ids);
  const routes = world.routes.filter((r) => r.method !== 'HEAD');
  const failures: string[] = [];
  const statuses: Record<number, number> = {};
  for (let i = 0; i < options.count; i++) {
    // Requests delete what others need (the model, the run): put it back now and then.
    if (i % RESEED_EVERY === 0 && i > 0) {
      await world.reseed();
      strings = nastyStrings(world.ids);
    }
    const route = pick(rng, routes);
    const method =
      rng() < 0.97 ? route.method : pick(rng, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    let t = target(rng, fillPath(route, world.ids), route.url, world.ids);
    if (method === 'GET' || method === 'DELETE' || rng() < 0.1)
      t = `${t}${t.includes('?') ? '&' : '?'}${query(rng, world.ids, strings)}`;
    const b = method === 'GET' || method === 'OPTIONS' ? undefined : body(rng, world.ids, strings);
    // Mostly an admin, so requests reach the handlers; sometimes a reader, no token or a bad one.
    const r = rng();
    const token =
      r < 0.9
        ? world.tokens.admin
        : r < 0.94
          ? world.tokens.reader
          : pick(rng, [undefined, 'keel_nope', 'x y']);
    const headers: Record<string, string> = {
      ...(token ? { authorization: token === 'x y' ? 'Basic x y' : `Bearer ${token}` } : {}),
      ...(b?.type ? { 'content-type': b.type } : {}),
      ...(rng() < 0.05 ? { 'x-request-id': pick(rng, ['', 'a b', 'x'.repeat(200), '../x', 'ok-id']) } : {}),
      ...(rng() < 0.05 ? { 'x-keel-model': pick(rng, strings).replace(/[^\x20-\x7e]/g, '') } : {}),
    };
    let res: RawResponse;
    try {
      res = await rawRequest(world.url, method, t, { headers, body: b?.text });
    } catch (err) {
      failures.push(`#${i} ${method} ${t.slice(0, 200)}: no answer (${(err as Error).message})`);
      continue;
    }
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    options.onAnswer?.(method, t, res);
    if (res.status >= 500)
      failures.push(
        `#${i} ${method} ${t.slice(0, 200)} body=${(b?.text ?? '').slice(0, 300)} -> ${res.status} ${res.body.slice(0, 300)}`,
      );
    options.onRequest?.(i + 1);
  }
  return { sent: options.count, failures, statuses };
}
