/**
 * @module server/ui
 * The web UI (built from `ui/` by `npm run build` into `dist/ui`): `GET /` answers its page and
 * `GET /ui/*` its assets, both public since they hold no data; every figure the UI shows comes
 * from the REST APIs with the caller's token. Pages are addressed in the URL's fragment
 * (`/#/runs`), so the server needs no route per page. Asset paths are confined to the folder.
 */
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../core/index.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** `dist/ui` beside the compiled server (`dist/server`), or the build's output when run from `src/`. */
export function uiFolder(): string | undefined {
  const here = import.meta.dirname;
  return [join(here, '..', 'ui'), join(here, '..', '..', 'dist', 'ui')].find((dir) =>
    existsSync(join(dir, 'index.html')),
  );
}

export async function uiRoutes(app: FastifyInstance, opts: { folder?: string }): Promise<void> {
  const folder = opts.folder ?? uiFolder();
  const PUBLIC = { config: { permission: 'public' } } as const;

  const send = async (relative: string, cache: string) => {
    if (!folder) throw notFound('The web UI is not built: run npm run build');
    const path = normalize(join(folder, relative));
    if (!path.startsWith(folder + sep)) throw notFound(`No UI file ${relative}`);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw notFound(`No UI file ${relative}`);
    return { stream: createReadStream(path), size: info.size, type: TYPES[extname(path)], cache };
  };

  app.get('/', PUBLIC, async (_request, reply) => {
    // The page names its hashed assets, so it is revalidated on every load; the assets never change.
    const file = await send('index.html', 'no-cache');
    return reply.type(file.type).header('cache-control', file.cache).send(file.stream);
  });
  app.get('/ui/*', PUBLIC, async (request, reply) => {
    const file = await send((request.params as { '*': string })['*'], 'public, max-age=31536000, immutable');
    return reply
      .type(file.type ?? 'application/octet-stream')
      .header('content-length', file.size)
      .header('cache-control', file.cache)
      .send(file.stream);
  });
}
