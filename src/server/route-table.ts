/**
 * @module server/route-table
 * Every route states the permission it needs in its own options, `config: { permission }`:
 * `public` (no token), or a registry permission (`read`, `write`, `approve`, `override`). Under
 * `--auth` the hook in `auth.ts` reads the matched route's declaration, never the URL text, so a
 * route without one would have no rule: registering it fails, and the server does not start. The
 * table of routes is kept for the tests and the fuzzer, which walk every route.
 */
import type { FastifyInstance } from 'fastify';
import type { Permission } from '../registry/index.js';

export type RoutePermission = 'public' | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route under `--auth`: see server/route-table. */
    permission?: RoutePermission;
  }
}

const PERMISSIONS: ReadonlySet<unknown> = new Set<RoutePermission>([
  'public',
  'read',
  'write',
  'approve',
  'override',
]);

export const isRoutePermission = (value: unknown): value is RoutePermission => PERMISSIONS.has(value);

export interface RouteEntry {
  method: string;
  /** The route's pattern with its prefix, e.g. `/api/2.0/mlflow/webhooks/:webhook_id`. */
  url: string;
  permission: RoutePermission;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/**
 * Records every route registered on `app` from now on (and its plugins' routes).
 * @throws Error when a route declares no permission (or an unknown one): a programming error.
 */
export function enableRouteTable(app: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(app, table);
  app.addHook('onRoute', (route) => {
    const methods = [route.method].flat();
    const permission = route.config?.permission;
    if (!isRoutePermission(permission)) {
      throw new Error(
        `Route ${methods.join(',')} ${route.url} declares no permission: add config: { permission: 'public' | 'read' | 'write' | 'approve' | 'override' }`,
      );
    }
    for (const method of methods) table.push({ method, url: route.url, permission });
  });
}

/** Every route of an app built by `buildApp`, in registration order (HEAD twins of GET routes included). */
export const routeTable = (app: FastifyInstance): readonly RouteEntry[] => tables.get(app) ?? [];
