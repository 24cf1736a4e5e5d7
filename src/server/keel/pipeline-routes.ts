/**
 * @module server/keel/pipeline-routes
 * `GET /api/2.0/keel/pipeline`: the DVC pipeline of the server's project (its `dvc.yaml`): every
 * stage with its command, deps, outs, params and upstream stages in DVC's plan order, and its
 * status against `dvc.lock` as `keel status --json` (DVC's `dvc status`) reports it: an empty
 * list when the stage is up to date, and the values of its metrics files in the workspace as
 * `keel metrics show` reads them. A project without `dvc.yaml` answers 404.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../core/index.js';
import { mlflowErrorHandler } from '../errors.js';

export async function pipelineRoutes(app: FastifyInstance, opts: { root: string }): Promise<void> {
  app.setErrorHandler(mlflowErrorHandler);
  app.get('/pipeline', { config: { permission: 'read' } }, async () => {
    if (!existsSync(join(opts.root, 'dvc.yaml'))) throw notFound(`No dvc.yaml in ${opts.root}`);
    // Loaded on use: a server without a pipeline never loads the pipeline code.
    const { Workspace, pipelineStatus, showMetrics, stageMetrics } = await import('../../pipeline/index.js');
    const ws = Workspace.open(opts.root);
    try {
      const status = await pipelineStatus(ws, ws.project.stages);
      const metrics = showMetrics(opts.root, ws.home);
      return {
        stages: ws.dag.order.map((s) => ({
          name: s.name,
          cmd: s.cmd,
          desc: s.desc,
          wdir: s.wdir,
          deps: s.deps,
          outs: s.outs.map((o) => o.path),
          params: s.params,
          frozen: s.frozen,
          upstream: ws.dag.upstream.get(s.name) ?? [],
          status: status[s.name] ?? [],
          metrics: stageMetrics(s, metrics),
        })),
      };
    } finally {
      await ws.close();
    }
  });
}
