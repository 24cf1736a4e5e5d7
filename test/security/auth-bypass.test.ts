/**
 * `keel serve --auth` against an attacker with a weaker token (or none): every route of the route
 * table, every role below the route's declared permission, and the URL tricks that made the old
 * suffix check pass (fragments, percent-encodings, `//`, `/./`, trailing slashes, method-override
 * headers, the `/ajax-api` twin), sent as raw HTTP to a real listening server. Each is refused and
 * the database, the artifact files, the online store and the prediction log are unchanged.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { can, type Permission, type Role } from '../../src/registry/index.js';
import { enableAuth } from '../../src/server/auth.js';
import { mlflowErrorHandler } from '../../src/server/errors.js';
import { enableRouteTable, type RouteEntry } from '../../src/server/route-table.js';
import { rawRequest } from './raw-http.js';
import { fillPath, kitchenSink, sinkQuery } from './requests.js';
import { securityWorld, type World } from './world.js';

type Caller = 'anonymous' | 'bad-token' | Role;

interface Attempt {
  variant: string;
  method: string;
  target: string;
  headers?: Record<string, string>;
}

/** The last letter of the route's last static segment, percent-encoded. */
function encodeOneLetter(path: string): string {
  const m = /^(.*\/[^/:]*?)([a-z])([^/]*)$/.exec(path);
  return m ? `${m[1]}%${m[2].charCodeAt(0).toString(16)}${m[3]}` : path;
}

function attempts(route: RouteEntry, path: string): Attempt[] {
  const m = route.method;
  const list: Attempt[] = [
    { variant: 'plain', method: m, target: path },
    { variant: 'fragment', method: m, target: `${path}#/search` },
    { variant: 'query-fragment', method: m, target: `${path}?x=1#/get-online-features` },
    { variant: 'encoded', method: m, target: encodeOneLetter(path) },
    { variant: 'trailing-slash', method: m, target: `${path}/` },
    { variant: 'double-slash', method: m, target: path.replace(/\/([^/]+)$/, '//$1') },
    { variant: 'dot-segment', method: m, target: path.replace(/\/([^/]+)$/, '/./$1') },
    { variant: 'upper-case', method: m, target: path.replace(/\/([^/]+)$/, (s) => s.toUpperCase()) },
    {
      variant: 'method-override',
      method: m,
      target: path,
      headers: { 'x-http-method-override': 'GET', 'x-method-override': 'GET', 'x-http-method': 'GET' },
    },
    { variant: 'options', method: 'OPTIONS', target: path },
  ];
  if (path.startsWith('/api/2.0/mlflow/'))
    list.push({ variant: 'ajax-twin', method: m, target: path.replace('/api/', '/ajax-api/') });
  return list;
}

/** `target` with `query` added before any fragment. */
function withQuery(target: string, query: string): string {
  const [before, ...fragment] = target.split('#');
  const joined = `${before}${before.includes('?') ? '&' : '?'}${query}`;
  return fragment.length ? `${joined}#${fragment.join('#')}` : joined;
}

const CALLERS: Caller[] = ['anonymous', 'bad-token', 'reader', 'writer', 'approver', 'admin'];

/** Whether `caller` lacks `permission`. */
function refusedTo(caller: Caller, permission: Exclude<RouteEntry['permission'], 'public'>): boolean {
  if (caller === 'anonymous' || caller === 'bad-token') return true;
  return !can({ user: caller, role: caller }, permission as Permission);
}

describe('--auth cannot be bypassed', () => {
  let w: World;
  beforeAll(async () => {
    w = await securityWorld('sqlite', undefined, { auth: true });
  }, 120_000);
  afterAll(async () => w?.close());

  it('declares a permission on every route, and the ones a reader needs are reads', () => {
    expect(w.routes.length).toBeGreaterThan(100);
    const perm = (method: string, url: string) =>
      w.routes.find((r) => r.method === method && r.url === url)?.permission;
    expect(perm('GET', '/health')).toBe('public');
    expect(perm('POST', '/api/2.0/mlflow/experiments/create')).toBe('write');
    expect(perm('POST', '/ajax-api/2.0/mlflow/experiments/create')).toBe('write');
    expect(perm('POST', '/api/2.0/mlflow/runs/search')).toBe('read');
    expect(perm('HEAD', '/api/2.0/mlflow/runs/get')).toBe('read');
    expect(perm('POST', '/api/2.0/keel/registry/approve')).toBe('approve');
    expect(perm('POST', '/api/2.0/mlflow/webhooks')).toBe('override');
    expect(perm('PUT', '/api/2.0/mlflow-artifacts/artifacts/*')).toBe('write');
    for (const write of ['/materialize', '/materialize-incremental', '/push', '/feedback'])
      expect(perm('POST', write), write).toBe('write');
    for (const read of ['/get-online-features', '/online-features', '/invocations', '/predict'])
      expect(perm('POST', read), read).toBe('read');
  });

  it('refuses every route to every caller below its permission, whatever the URL looks like', async () => {
    const before = await w.snapshot();
    const body = JSON.stringify(kitchenSink(w.ids));
    const query = sinkQuery(w.ids);
    const wrong: string[] = [];
    let sent = 0;
    for (const route of w.routes) {
      if (route.permission === 'public') continue;
      const path = fillPath(route, w.ids);
      for (const caller of CALLERS) {
        if (!refusedTo(caller, route.permission)) continue;
        const auth: Record<string, string> =
          caller === 'anonymous'
            ? {}
            : {
                authorization: `Bearer ${caller === 'bad-token' ? `keel_${'0'.repeat(64)}` : w.tokens[caller]}`,
              };
        // A bad token fails where no token does: one attempt shows it.
        const tried = attempts(route, path);
        for (const a of caller === 'bad-token' ? tried.slice(0, 1) : tried) {
          const withBody = a.method !== 'GET' && a.method !== 'HEAD' && a.method !== 'OPTIONS';
          const upload = route.url.includes('mlflow-artifacts') && a.method === 'PUT';
          const target = a.method === 'GET' || a.method === 'DELETE' ? withQuery(a.target, query) : a.target;
          const res = await rawRequest(w.url, a.method, target, {
            headers: {
              ...auth,
              ...a.headers,
              ...(withBody
                ? { 'content-type': upload ? 'application/octet-stream' : 'application/json' }
                : {}),
            },
            body: withBody ? (upload ? 'replaced bytes' : body) : undefined,
          });
          sent++;
          const noRoute = res.status === 404 && (a.method === 'HEAD' || /No route/.test(res.body));
          const refused = res.status === 401 || res.status === 403 || noRoute;
          const expected = caller === 'anonymous' || caller === 'bad-token' ? res.status === 401 : refused;
          if (!expected)
            wrong.push(
              `${caller} ${a.variant} ${a.method} ${a.target} -> ${res.status} ${res.body.slice(0, 160)}`,
            );
        }
      }
    }
    expect(sent).toBeGreaterThan(800);
    expect(wrong).toEqual([]);
    expect(await w.snapshot()).toBe(before);
  }, 300_000);

  it('answers an unknown URL 401 without a token and 404 with one, saying nothing else', async () => {
    const anonymous = await rawRequest(w.url, 'GET', '/api/2.0/mlflow/nope');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).not.toMatch(/nope/);
    const reader = await rawRequest(w.url, 'GET', '/api/2.0/mlflow/nope', {
      headers: { authorization: `Bearer ${w.tokens.reader}` },
    });
    expect(reader.status).toBe(404);
  });

  it('lets each role do what its permission allows through the same tricks', async () => {
    const reader = { authorization: `Bearer ${w.tokens.reader}` };
    const search = await rawRequest(w.url, 'POST', '/api/2.0/mlflow/runs/search/#/x', {
      headers: { ...reader, 'content-type': 'application/json' },
      body: JSON.stringify({ experiment_ids: [w.ids.experimentId] }),
    });
    expect(search.status).toBe(200);
    const writer = { authorization: `Bearer ${w.tokens.writer}`, 'content-type': 'application/json' };
    const created = await rawRequest(w.url, 'POST', '/ajax-api/2.0/mlflow/experiments/creat%65#/search', {
      headers: writer,
      body: JSON.stringify({ name: 'by-writer' }),
    });
    expect(created.status).toBe(200);
    expect((await w.tracking.experiments.getByName('by-writer')).name).toBe('by-writer');
  });
});

describe('route declarations', () => {
  it('refuse to register a route that declares no permission', async () => {
    const app = Fastify();
    enableRouteTable(app);
    expect(() => app.get('/undeclared', async () => 'hi')).toThrow(/declares no permission/);
    expect(() => app.get('/odd', { config: { permission: 'root' as never } }, async () => 'hi')).toThrow(
      /declares no permission/,
    );
    await app.close();
  });

  it('refuse, under --auth, a matched route that has no declaration', async () => {
    const app = Fastify();
    app.setErrorHandler(mlflowErrorHandler);
    let authenticated = 0;
    enableAuth(app, {
      tokens: {
        authenticate: async () => {
          authenticated++;
          return { user: 'dana', role: 'admin' };
        },
      },
    } as never);
    app.get('/undeclared', async () => 'hi');
    const res = await app.inject({
      method: 'GET',
      url: '/undeclared',
      headers: { authorization: 'Bearer x' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error_code: 'PERMISSION_DENIED' });
    expect(authenticated).toBe(0);
    await app.close();
  });
});
