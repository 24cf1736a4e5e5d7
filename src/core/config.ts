/**
 * @module core/config
 * Keel's configuration: `keel.yaml` at the project root, then environment overrides. Every
 * subsystem picks its backend from here through a discriminated union on `type`.
 *
 * Environment overrides: `KEEL_HOME` (default `./.keel`), `KEEL_DB` (a `postgres://` URL or a
 * SQLite file path), `KEEL_ONLINE_STORE` (`redis://...` or a SQLite file path),
 * `KEEL_ARTIFACTS` (a folder, or an S3 store as `s3://bucket/prefix?endpoint=...&region=...&forcePathStyle=true`),
 * `KEEL_LOG_LEVEL`. The S3 store's credentials are the AWS SDK's own: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY` (`AWS_SESSION_TOKEN`), a profile, or an instance role.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KeelError } from './errors.js';
import { parseInput, strictObject } from './validate.js';

/**
 * SQLite's `synchronous` for the metadata database (always in WAL mode). `full` syncs the WAL at
 * every commit, so an acknowledged write survives a power loss or an OS crash; `normal` syncs only
 * at checkpoints, so it survives a crash of the process but may lose the last commits to a power
 * loss (the database stays consistent either way).
 */
export const sqliteSynchronous = z.enum(['full', 'normal']);
export type SqliteSynchronous = z.infer<typeof sqliteSynchronous>;

const metadataSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sqlite'),
    path: z.string().optional(),
    synchronous: sqliteSynchronous.optional(),
  }),
  z.strictObject({ type: z.literal('postgres'), url: z.string().regex(/^postgres(ql)?:\/\//) }),
]);

const onlineStoreSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('sqlite'),
    path: z.string().optional(),
    /**
     * The in-process cache of the records read (on unless false). It stays coherent with the file:
     * emptied when another process commits to it (SQLite's data version), so it serves nothing stale.
     */
    cache: z
      .union([
        z.literal(false),
        z.strictObject({
          /** Most memory the cached records take (default 64 MiB); the least recently read go first. */
          maxBytes: z.number().int().min(1024).optional(),
        }),
      ])
      .optional(),
  }),
  z.strictObject({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//),
    /** How long a connection attempt or an online read may take before it fails (ms). */
    timeoutMs: z.number().int().min(1).max(60_000).optional(),
    /**
     * An in-process cache of the records read, in front of Redis (off unless given): a record is
     * served from it for `ttlMs`, so a write by another process shows up to `ttlMs` late.
     */
    cache: z
      .strictObject({
        ttlMs: z.number().int().min(1).max(3_600_000),
        /** Most memory the cached records take (default 64 MiB); the least recently read go first. */
        maxBytes: z.number().int().min(1024).optional(),
      })
      .optional(),
  }),
]);

/**
 * What serving does with rows a model cannot judge well: an unseen category, a row whose features
 * are all missing, a row missing more than a share of them. Defaults live in serving/.
 */
export const inputPolicySchema = z.strictObject({
  unseenCategory: z.enum(['score-as-missing', 'refuse']).optional(),
  allMissing: z.enum(['refuse', 'score']).optional(),
  maxMissingShare: z.number().min(0).max(1).optional(),
});
export type InputPolicySettings = z.infer<typeof inputPolicySchema>;

const artifactsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local'), root: z.string().optional() }),
  z.strictObject({
    type: z.literal('s3'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 of a-z, 0-9, . and -)'),
    /** Key prefix every artifact goes under (no leading or trailing slash needed). */
    prefix: z.string().default(''),
    /** The S3 API's URL; none: AWS itself, in `region`. */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    region: z.string().min(1).optional(),
    /** `https://host/bucket/key` rather than `https://bucket.host/key` (most S3-compatible servers want it). */
    forcePathStyle: z.boolean().optional(),
  }),
]);

export type S3ArtifactsConfig = Extract<z.infer<typeof artifactsSchema>, { type: 's3' }>;
export type ArtifactsConfig = { type: 'local'; root: string } | S3ArtifactsConfig;

/** ONNX Runtime session settings of serving and scoring; the defaults live in ml/onnx-session. */
export const sessionSettingsSchema = z.strictObject({
  /** ONNX Runtime's graph optimization level. */
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).optional(),
  /** Threads one call may use inside an operator. */
  intraOpThreads: z.number().int().min(1).max(1024).optional(),
  /** Threads running independent operators at once (more than 1 runs the graph in parallel mode). */
  interOpThreads: z.number().int().min(1).max(1024).optional(),
});
export type SessionSettings = z.infer<typeof sessionSettingsSchema>;

/** Worker threads that score large calls off the event loop; the default minRows lives in serving/. */
export const offloadSchema = z.strictObject({
  /** Threads a served model scores large calls on, each with its own ONNX Runtime session. */
  threads: z
    .number()
    .int('must be a whole number of threads')
    .min(1, 'must be at least 1 thread (leave serving.offload out to score on the main thread only)')
    .max(64, 'must be at most 64 threads'),
  /** Calls of fewer rows run on the main thread, where they cost less than a hop to a thread. */
  minRows: z.number().int('must be a whole number of rows').min(1, 'must be at least 1 row').optional(),
});
export type OffloadSettings = z.infer<typeof offloadSchema>;

const fileSchema = strictObject({
  home: z.string().optional(),
  metadata: metadataSchema.optional(),
  artifacts: artifactsSchema.optional(),
  onlineStore: onlineStoreSchema.optional(),
  server: z
    .strictObject({ host: z.string().optional(), port: z.number().int().min(0).max(65535).optional() })
    .optional(),
  /** Online serving: micro-batching of concurrent requests to one model (defaults in serving/). */
  serving: z
    .strictObject({
      maxBatchSize: z.number().int().min(1).max(100_000).optional(),
      maxLatencyMs: z.number().min(0).max(10_000).optional(),
      /** ONNX Runtime session options of every model served or scored. */
      onnx: sessionSettingsSchema.optional(),
      /** Large calls scored on worker threads, each with a session of its own (serving/score-pool). */
      offload: offloadSchema.optional(),
      /** The input policy of every model served... */
      inputPolicy: inputPolicySchema.optional(),
      /** ...and per model name, over it. */
      models: z
        .record(z.string().min(1), z.strictObject({ inputPolicy: inputPolicySchema.optional() }))
        .optional(),
    })
    .optional(),
  log: z
    .strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) })
    .optional(),
  /** Sections owned by other subsystems, validated there. */
  governance: z.record(z.string(), z.unknown()).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  monitoring: z.record(z.string(), z.unknown()).optional(),
  jobs: z.record(z.string(), z.unknown()).optional(),
});

export type KeelFileConfig = z.infer<typeof fileSchema>;
export type MetadataConfig =
  | { type: 'sqlite'; path: string; synchronous?: SqliteSynchronous }
  | { type: 'postgres'; url: string };
export type OnlineStoreConfig =
  | { type: 'sqlite'; path: string; cache?: SqliteCacheConfig }
  | { type: 'redis'; url: string; timeoutMs?: number; cache?: OnlineCacheConfig };
/** `onlineStore.cache` of SQLite in keel.yaml: off, or on within a memory bound. */
export type SqliteCacheConfig = false | { maxBytes?: number };
/** See `onlineStore.cache` in keel.yaml. */
export interface OnlineCacheConfig {
  ttlMs: number;
  maxBytes?: number;
}
export type LogLevel = NonNullable<KeelFileConfig['log']>['level'];

/** Resolved configuration: every path absolute, every backend chosen. */
export interface KeelConfig {
  /** The project root (where keel.yaml lives, or the working directory). */
  root: string;
  /** Keel's home folder for embedded stores, artifacts and caches. */
  home: string;
  metadata: MetadataConfig;
  artifacts: ArtifactsConfig;
  onlineStore: OnlineStoreConfig;
  server: { host: string; port: number };
  logLevel: LogLevel;
  /** Batching and input policy settings keel.yaml gives; serving fills in the rest from its defaults. */
  serving?: NonNullable<KeelFileConfig['serving']>;
  governance?: Record<string, unknown>;
  features?: Record<string, unknown>;
  monitoring?: Record<string, unknown>;
  /** The job engine's section (Redis, key prefix, locks), validated by jobs/. */
  jobs?: Record<string, unknown>;
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; default `<cwd>/keel.yaml` when it exists. */
  file?: string;
}

function readFileConfig(path: string): KeelFileConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8')) ?? {};
  } catch (err) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${path} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseInput(fileSchema, raw, path);
}

/**
 * Loads keel.yaml (if any) and applies environment overrides.
 * @throws KeelError INVALID_PARAMETER_VALUE for a malformed file or override.
 */
export function loadConfig(options: LoadConfigOptions = {}): KeelConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const file = options.file ?? join(cwd, 'keel.yaml');
  const fromFile = existsSync(file) ? readFileConfig(file) : {};
  const abs = (p: string, base: string) => (isAbsolute(p) ? p : resolve(base, p));

  const home = abs(env.KEEL_HOME || fromFile.home || '.keel', cwd);

  let metadata: MetadataConfig;
  const db = env.KEEL_DB;
  // An acknowledged write survives a power loss unless keel.yaml trades that for speed.
  const synchronous = (fromFile.metadata?.type === 'sqlite' && fromFile.metadata.synchronous) || 'full';
  if (db) {
    metadata = /^postgres(ql)?:\/\//.test(db)
      ? { type: 'postgres', url: db }
      : { type: 'sqlite', path: abs(db, cwd), synchronous };
  } else if (fromFile.metadata?.type === 'postgres') {
    metadata = fromFile.metadata;
  } else {
    metadata = { type: 'sqlite', path: abs(fromFile.metadata?.path ?? 'keel.db', home), synchronous };
  }

  let onlineStore: OnlineStoreConfig;
  const online = env.KEEL_ONLINE_STORE;
  if (online) {
    // The URL may come from the environment and the timeout from keel.yaml.
    const fileRedis = fromFile.onlineStore?.type === 'redis' ? fromFile.onlineStore : undefined;
    const timeoutMs = fileRedis?.timeoutMs;
    onlineStore = /^rediss?:\/\//.test(online)
      ? {
          type: 'redis',
          url: online,
          ...(timeoutMs === undefined ? {} : { timeoutMs }),
          ...(fileRedis?.cache ? { cache: fileRedis.cache } : {}),
        }
      : { type: 'sqlite', path: abs(online, cwd), ...sqliteCache(fromFile.onlineStore) };
  } else if (fromFile.onlineStore?.type === 'redis') {
    onlineStore = fromFile.onlineStore;
  } else {
    onlineStore = {
      type: 'sqlite',
      path: abs(fromFile.onlineStore?.path ?? 'online.db', home),
      ...sqliteCache(fromFile.onlineStore),
    };
  }

  const artifacts = artifactsConfig(env.KEEL_ARTIFACTS, fromFile.artifacts, (p) => abs(p, home));
  const levelOverride = env.KEEL_LOG_LEVEL;
  const logLevel = levelOverride
    ? parseInput(fileSchema.shape.log.unwrap().shape.level, levelOverride, 'KEEL_LOG_LEVEL')
    : (fromFile.log?.level ?? 'warn');

  return {
    root: cwd,
    home,
    metadata,
    artifacts,
    onlineStore,
    server: { host: fromFile.server?.host ?? '127.0.0.1', port: fromFile.server?.port ?? 5000 },
    logLevel,
    serving: fromFile.serving,
    governance: fromFile.governance,
    features: fromFile.features,
    monitoring: fromFile.monitoring,
    jobs: fromFile.jobs,
  };
}

/** The artifact store `KEEL_ARTIFACTS` (a folder or an `s3://` URL) or else keel.yaml names. */
function artifactsConfig(
  override: string | undefined,
  fromFile: KeelFileConfig['artifacts'],
  abs: (path: string) => string,
): ArtifactsConfig {
  if (override?.startsWith('s3://')) return parseS3Url(override);
  if (override) return { type: 'local', root: abs(override) };
  if (fromFile?.type === 's3') return fromFile;
  return { type: 'local', root: abs(fromFile?.root ?? 'artifacts') };
}

/**
 * Reads `s3://bucket/prefix?endpoint=...&region=...&forcePathStyle=true`.
 * @throws INVALID_PARAMETER_VALUE for a malformed URL or setting.
 */
export function parseS3Url(text: string): S3ArtifactsConfig {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new KeelError('INVALID_PARAMETER_VALUE', `KEEL_ARTIFACTS '${text}' is not a valid s3:// URL`);
  }
  const q = url.searchParams;
  const unknown = [...q.keys()].filter((k) => !['endpoint', 'region', 'forcePathStyle'].includes(k));
  if (unknown.length > 0)
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `KEEL_ARTIFACTS: unknown setting ${unknown.join(', ')} (endpoint, region and forcePathStyle are known)`,
    );
  const style = q.get('forcePathStyle');
  if (style !== null && style !== 'true' && style !== 'false')
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `KEEL_ARTIFACTS: forcePathStyle is true or false, not '${style}'`,
    );
  const parsed = parseInput(
    artifactsSchema,
    {
      type: 's3',
      bucket: url.hostname,
      prefix: decodeURIComponent(url.pathname.replace(/^\/+/, '')),
      ...(q.has('endpoint') ? { endpoint: q.get('endpoint') } : {}),
      ...(q.has('region') ? { region: q.get('region') } : {}),
      ...(style === null ? {} : { forcePathStyle: style === 'true' }),
    },
    'KEEL_ARTIFACTS',
  );
  return parsed as S3ArtifactsConfig;
}

/** The `s3://` URL `parseS3Url` reads back into `config`. */
export function s3Url(config: S3ArtifactsConfig): string {
  const q = new URLSearchParams();
  if (config.endpoint) q.set('endpoint', config.endpoint);
  if (config.region) q.set('region', config.region);
  if (config.forcePathStyle !== undefined) q.set('forcePathStyle', String(config.forcePathStyle));
  const query = q.toString();
  return `s3://${config.bucket}/${encodeURI(config.prefix)}${query ? `?${query}` : ''}`;
}

/** keel.yaml's SQLite cache setting, kept when `KEEL_ONLINE_STORE` moves the file. */
function sqliteCache(fromFile: KeelFileConfig['onlineStore']): { cache?: SqliteCacheConfig } {
  return fromFile?.type === 'sqlite' && fromFile.cache !== undefined ? { cache: fromFile.cache } : {};
}
