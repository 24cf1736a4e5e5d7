/**
 * @module server/routes/feast-schemas
 * zod schemas of the Feast feature server's request bodies (specs/COMPAT.md section 4), plus the
 * row-oriented convenience request.
 */
import { z } from 'zod';

const scalar = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const refs = z.array(z.string().min(1)).min(1);

/** Exactly one of `features` and `feature_service`. */
const selection = {
  features: refs.optional(),
  feature_service: z.string().min(1).optional(),
  full_feature_names: z.boolean().default(false),
};
const oneSelection = (body: { features?: string[]; feature_service?: string }) =>
  (body.features === undefined) !== (body.feature_service === undefined);
const selectionMessage = { message: 'give exactly one of features and feature_service' };

export const getOnlineFeaturesBody = z
  .object({
    ...selection,
    entities: z.record(z.string(), z.array(scalar).min(1)),
    include_feature_view_version_metadata: z.boolean().optional(),
  })
  .refine(oneSelection, selectionMessage);

export const onlineRowsBody = z
  .object({ ...selection, entities: z.array(z.record(z.string(), scalar)).min(1) })
  .refine(oneSelection, selectionMessage);

export const pushBody = z.object({
  push_source_name: z.string().min(1),
  df: z.record(z.string(), z.array(z.unknown())),
  to: z.enum(['online', 'offline', 'online_and_offline']).default('online'),
  allow_registry_cache: z.boolean().optional(),
});

export const materializeBody = z.object({
  start_ts: z.string().min(1),
  end_ts: z.string().min(1),
  feature_views: z.array(z.string()).optional(),
  disable_event_timestamp: z.boolean().optional(),
  full_feature_names: z.boolean().optional(),
});

export const materializeIncrementalBody = z.object({
  end_ts: z.string().min(1),
  feature_views: z.array(z.string()).optional(),
});
