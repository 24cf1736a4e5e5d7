/**
 * @module server/mlflow/routes
 * A tiny route table helper: each MLflow endpoint is a method, a path, the permission it needs
 * (server/route-table), a zod schema and a handler that returns the response body. GET reads the
 * query string, everything else the JSON body.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parseInput } from '../../core/index.js';
import type { RoutePermission } from '../route-table.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export function route<S extends z.ZodType>(
  app: FastifyInstance,
  methods: Method | Method[],
  path: string,
  permission: RoutePermission,
  schema: S,
  handler: (input: z.output<S>, request: FastifyRequest) => Promise<unknown>,
): void {
  for (const method of Array.isArray(methods) ? methods : [methods]) {
    app.route({
      method,
      url: path,
      config: { permission },
      handler: async (request) => {
        const raw = method === 'GET' ? request.query : (request.body ?? {});
        // DELETE may carry its fields in the query string when there is no body.
        const source =
          method === 'DELETE' && (request.body === undefined || request.body === null) ? request.query : raw;
        // Path parameters (`/webhooks/:id`) join the fields.
        const params = request.params as Record<string, string> | undefined;
        const merged =
          params && Object.keys(params).length > 0
            ? { ...(source as Record<string, unknown>), ...params }
            : source;
        const input = parseInput(schema, merged, `request to ${path}`);
        return (await handler(input, request)) ?? {};
      },
    });
  }
}
