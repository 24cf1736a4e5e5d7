/**
 * @module server/routes/feast-schemas
 * zod schemas of the Feast feature server's request bodies (as its pydantic models in
 * `feature_server.py` declare them), plus the row-oriented convenience request. Integers beyond
 * 2^53 arrive as BigInts (the routes parse JSON exactly).
 */
import { z } from 'zod';

const scalar = z.union([z.number(), z.bigint(), z.string(), z.boolean(), z.null()]);
const refs = z.array(z.string().min(1));

/** `features` or `feature_service`; given both, Feast's `_get_features` uses the service. */
const selection = {
  features: refs.optional(),
  feature_service: z.string().min(1).optional(),
  full_feature_names: z.boolean().default(false),
};

export const getOnlineFeaturesBody = z.object({
  ...selection,
  entities: z.record(z.string(), z.array(scalar)),
  include_feature_view_version_metadata: z.boolean().default(false),
});

export const onlineRowsBody = z.object({
  ...selection,
  entities: z.array(z.record(z.string(), scalar)).min(1),
});

export const pushBody = z.object({
  push_source_name: z.string().min(1),
  df: z.record(z.string(), z.array(z.unknown())),
  to: z.enum(['online', 'offline', 'online_and_offline']).default('online'),
  allow_registry_cache: z.boolean().default(true),
  transform_on_write: z.boolean().default(true),
  /** Keel's opt-in: feature columns may be absent and are written as null (Feast refuses). */
  allow_missing_features: z.boolean().default(false),
});

export const materializeBody = z.object({
  start_ts: z.string().min(1).optional(),
  end_ts: z.string().min(1).optional(),
  feature_views: z.array(z.string()).optional(),
  disable_event_timestamp: z.boolean().default(false),
  full_feature_names: z.boolean().optional(),
});

export const materializeIncrementalBody = z.object({
  end_ts: z.string().min(1),
  feature_views: z.array(z.string()).optional(),
});
