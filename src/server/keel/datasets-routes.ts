/**
 * @module server/keel/datasets-routes
 * The offline store's datasets, read as `keel datasets list|show` reads them:
 * - `GET /api/2.0/keel/datasets`: each dataset's partitions, rows and last ingest;
 * - `GET /api/2.0/keel/datasets/get?name=D`: one dataset's columns, digest and accepted ingests,
 *   each with the validation checks it passed.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../../core/index.js';
import { listDatasets, showDataset } from '../../data/index.js';
import { mlflowErrorHandler } from '../errors.js';

const READ = { config: { permission: 'read' } } as const;

export async function datasetsRoutes(app: FastifyInstance, opts: { home: string }): Promise<void> {
  app.setErrorHandler(mlflowErrorHandler);
  app.get('/datasets', READ, async () => ({ datasets: listDatasets(opts.home) }));
  app.get('/datasets/get', READ, async (request) => {
    const q = parseInput(
      z.object({ name: z.string().min(1, 'name is required') }),
      request.query ?? {},
      'request to /datasets/get',
    );
    return { dataset: await showDataset(opts.home, q.name) };
  });
}
