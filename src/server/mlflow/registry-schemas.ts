/**
 * @module server/mlflow/registry-schemas
 * zod schemas for MLflow model registry requests (specs/COMPAT.md section 2). Versions arrive as
 * strings (proto) or numbers; unknown fields are ignored, as MLflow's own parser does.
 */
import { z } from 'zod';
import { int64, keyValue, list, maxResults, S } from './schemas.js';

const name = z.string().min(1);
const version = z.union([z.string().min(1), z.number().int()]).transform(String);
const paging = {
  filter: z.string().optional(),
  max_results: maxResults,
  order_by: list(z.string()).optional(),
  page_token: z.string().optional(),
};
const webhookEvents = z.array(z.union([z.string(), z.object({ entity: z.string(), action: z.string() })]));

export const R = {
  createModel: z.object({ name, tags: z.array(keyValue).optional(), description: z.string().optional() }),
  renameModel: z.object({ name, new_name: name }),
  updateModel: z.object({ name, description: z.string().optional() }),
  modelName: z.object({ name }),
  searchModels: z.object(paging),
  latestVersions: z.object({ name, stages: list(z.string()).optional() }),
  createVersion: z.object({
    name,
    source: z.string().min(1),
    run_id: z.string().optional(),
    tags: z.array(keyValue).optional(),
    run_link: z.string().optional(),
    description: z.string().optional(),
    /** MLflow 3: the logged model the source is. */
    model_id: z.string().optional(),
  }),
  updateVersion: z.object({ name, version, description: z.string().optional() }),
  transition: z.object({ name, version, stage: z.string(), archive_existing_versions: S.bool.optional() }),
  version: z.object({ name, version }),
  searchVersions: z.object(paging),
  modelTag: z.object({ name, key: z.string(), value: z.string() }),
  modelTagKey: z.object({ name, key: z.string() }),
  versionTag: z.object({ name, version, key: z.string(), value: z.string() }),
  versionTagKey: z.object({ name, version, key: z.string() }),
  setAlias: z.object({ name, alias: z.string(), version }),
  alias: z.object({ name, alias: z.string() }),
  createWebhook: z.object({
    name: z.string().min(1),
    url: z.string(),
    events: webhookEvents,
    secret: z.string().optional(),
    description: z.string().optional(),
    status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  }),
  updateWebhook: z.object({
    name: z.string().min(1).optional(),
    url: z.string().optional(),
    events: webhookEvents.optional(),
    secret: z.string().optional(),
    description: z.string().optional(),
    status: z.enum(['ACTIVE', 'DISABLED']).optional(),
  }),
  listWebhooks: z.object({ max_results: maxResults, page_token: z.string().optional() }),
  promote: z.object({
    name,
    version,
    stage: z.string(),
    archive_existing_versions: S.bool.optional(),
    override: S.bool.optional(),
    reason: z.string().optional(),
  }),
  decide: z.object({
    request_id: int64,
    reason: z.string().optional(),
  }),
  rollback: z.object({ name, reason: z.string().optional() }),
  requests: z.object({
    name: z.string().optional(),
    status: z.enum(['pending', 'approved', 'rejected']).optional(),
  }),
};
