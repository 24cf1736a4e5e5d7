/**
 * @module jobs/settings
 * `jobs` in keel.yaml: where the queue lives and how BullMQ watches its workers. A worker renews
 * the lock of the job it runs every `lockDuration / 2`; a worker that dies stops renewing, and
 * within `lockDuration + stalledInterval` another worker's stalled-job check puts the job back in
 * the queue, up to `maxStalledCount` times before it fails. Short values find a dead worker sooner
 * and cost more Redis calls.
 *
 * Environment overrides: `KEEL_JOBS_REDIS` (the URL), `KEEL_JOBS_PREFIX`.
 */
import { z } from 'zod';
import { durationText, type KeelConfig, parseInput } from '../core/index.js';

const duration = (what: string) => z.union([z.number().int().min(1), durationText(what)]);

const settingsSchema = z.strictObject({
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  /** Every Redis key of the queue starts with it: one Redis can hold several projects' queues. */
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .default('keel'),
  lockDuration: duration('lockDuration').default(30_000),
  stalledInterval: duration('stalledInterval').default(30_000),
  maxStalledCount: z.number().int().min(0).max(100).default(1),
  /** Tries of a job that fails with an error (a dead worker counts as a stall, not a try). */
  attempts: z.number().int().min(1).max(100).default(3),
  /** Jobs one `keel worker` runs at once. */
  concurrency: z.number().int().min(1).max(256).default(1),
  /** Rows per chunk of `keel score --distributed`, one job each. */
  chunkRows: z.number().int().min(1).max(100_000_000).default(250_000),
  /** How long finished jobs and their records stay readable by `keel jobs` (from the end). */
  retention: duration('retention').default(7 * 24 * 3600 * 1000),
});
export type JobSettings = z.output<typeof settingsSchema>;

/** @throws KeelError INVALID_PARAMETER_VALUE naming the key. */
export function jobSettings(config: KeelConfig, env: NodeJS.ProcessEnv = process.env): JobSettings {
  const section = { ...(config.jobs ?? {}) };
  if (env.KEEL_JOBS_REDIS) section.redis = env.KEEL_JOBS_REDIS;
  if (env.KEEL_JOBS_PREFIX) section.prefix = env.KEEL_JOBS_PREFIX;
  return parseInput(settingsSchema, section, 'keel.yaml jobs');
}
