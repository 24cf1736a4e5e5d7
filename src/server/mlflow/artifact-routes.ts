/**
 * @module server/mlflow/artifact-routes
 * MLflow's artifact proxy (`/api/2.0/mlflow-artifacts`): clients upload, download, list and delete
 * artifacts through the server, which keeps them in its artifact store. Paths are confined to the
 * store's root; `..` and absolute paths are refused with INVALID_PARAMETER_VALUE, and no symbolic
 * link is followed. Writes and deletes go through the registry, which keeps registered model
 * files immutable (registry/files).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ArtifactStore } from '../../artifacts/index.js';
import { normalizeArtifactPath } from '../../artifacts/index.js';
import { parseInput } from '../../core/index.js';
import type { Registry } from '../../registry/index.js';
import { mlflowErrorHandler } from '../errors.js';
import { registryFor } from './registry-routes.js';

const listQuery = z.object({ path: z.string().optional() });

export async function mlflowArtifactRoutes(
  app: FastifyInstance,
  opts: { artifacts: ArtifactStore; registry: Registry },
): Promise<void> {
  const { artifacts } = opts;
  app.setErrorHandler(mlflowErrorHandler);
  // Uploads are raw bytes of any type; hand the stream to the store instead of buffering it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  // The router decodes the path once, as MLflow's server does: a client's `100%25.txt` (what
  // MLflow's client sends for a file named `100%.txt`) is `100%.txt`; decoding again would turn
  // `a%2541.txt` into `aA.txt` and fail on `100%25.txt`.
  const pathOf = (params: unknown): string => normalizeArtifactPath((params as { '*': string })['*'] ?? '');

  app.get('/artifacts', { config: { permission: 'read' } }, async (request) => {
    const { path } = parseInput(listQuery, request.query, 'artifact list request');
    const files = await artifacts.list(normalizeArtifactPath(path ?? ''));
    return {
      files: files.map((f) => ({
        path: f.path,
        is_dir: f.isDir,
        ...(f.isDir ? {} : { file_size: f.fileSize }),
      })),
    };
  });
  app.get('/artifacts/*', { config: { permission: 'read' } }, async (request, reply) => {
    const { stream, size } = await artifacts.get(pathOf(request.params));
    return reply.type('application/octet-stream').header('content-length', size).send(stream);
  });
  app.put('/artifacts/*', { config: { permission: 'write' } }, async (request) => {
    const path = pathOf(request.params);
    const body = request.body as NodeJS.ReadableStream | undefined;
    await registryFor(opts.registry, request).changeArtifacts('put', path, async () => {
      await artifacts.put(path, (body ?? '') as never);
    });
    return {};
  });
  app.delete('/artifacts/*', { config: { permission: 'write' } }, async (request) => {
    const path = pathOf(request.params);
    await registryFor(opts.registry, request).changeArtifacts('delete', path, () => artifacts.delete(path));
    return {};
  });
}
