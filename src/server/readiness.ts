/**
 * @module server/readiness
 * Whether this server can do its work now, for load balancers and orchestrators (`GET /ready`,
 * OIP's `/v2/health/ready`): the metadata database answers a trivial query, the online store
 * answers a ping (through the Redis circuit, whose trial this may be), and every served model has
 * a version loaded. Each probe has a short deadline, and concurrent probes share one check.
 * `/health` stays liveness: the process answers.
 *
 * The report is read by anyone who can reach the probe (it needs no token), so it names parts
 * and what happened to them in Keel's own words: never an address, a driver's message or a path.
 * The full errors go to the server's log.
 */
import { DeadlineExceeded, isKeelError, type Logger, withDeadline } from '../core/index.js';
import type { FeatureStore } from '../features/index.js';
import type { ModelServer } from '../serving/index.js';
import type { SqlExecutor } from '../storage/index.js';

/** How long the database and the online store each have to answer a probe (ms). */
export const READY_TIMEOUT_MS = 2000;

export type PartStatus = { status: 'up' } | { status: 'down'; reason: string };

export interface ServedStatus {
  name: string;
  version: string;
  canary?: { uri: string; version: string | null; serving: boolean; percent: number };
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready';
  /** The server is shutting down: it finishes what it has and takes nothing new. */
  draining?: true;
  checks: {
    database: PartStatus;
    /** Present when the server has a feature store. */
    online_store?: PartStatus;
    /** Present when the server serves models. */
    models?: PartStatus & { served: ServedStatus[] };
  };
}

export interface ReadinessSources {
  db: Pick<SqlExecutor, 'get'>;
  features?: FeatureStore;
  serving?: ModelServer;
  logger?: Pick<Logger, 'warn'>;
  timeoutMs?: number;
}

export class Readiness {
  private running?: Promise<ReadinessReport>;
  private readonly timeoutMs: number;
  /** Set by `drain()`: every report from then on is not ready, whatever the parts say. */
  draining = false;

  constructor(private readonly sources: ReadinessSources) {
    this.timeoutMs = sources.timeoutMs ?? READY_TIMEOUT_MS;
  }

  /** From now on the server reports not ready, so load balancers send it nothing new. */
  drain(): void {
    this.draining = true;
  }

  /** Checks every part; a probe arriving while a check runs gets that check's report. */
  check(): Promise<ReadinessReport> {
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<ReadinessReport> {
    const { db, features, serving } = this.sources;
    const [database, onlineStore] = await Promise.all([
      this.probe('database', () => db.get('SELECT 1'), databaseReason),
      features ? this.probe('online store', () => features.pingOnline(), onlineStoreReason) : undefined,
    ]);
    const models = serving ? modelsStatus(serving) : undefined;
    const parts = [database, onlineStore, models].filter((p) => p !== undefined);
    return {
      status: !this.draining && parts.every((p) => p.status === 'up') ? 'ready' : 'not_ready',
      ...(this.draining ? { draining: true as const } : {}),
      checks: {
        database,
        ...(onlineStore ? { online_store: onlineStore } : {}),
        ...(models ? { models } : {}),
      },
    };
  }

  private async probe(
    part: string,
    call: () => Promise<unknown>,
    reason: (err: unknown) => string,
  ): Promise<PartStatus> {
    try {
      await withDeadline(call(), this.timeoutMs);
      return { status: 'up' };
    } catch (err) {
      this.sources.logger?.warn({ err }, `readiness: the ${part} is down`);
      return { status: 'down', reason: reason(err) };
    }
  }
}

/** The database's drivers put addresses and SQL in their messages: only their kind is told. */
function databaseReason(err: unknown): string {
  if (err instanceof DeadlineExceeded) return `did not answer within ${err.ms} ms`;
  if (isKeelError(err, 'TEMPORARILY_UNAVAILABLE')) return 'unreachable';
  return 'failed a trivial query';
}

/**
 * The Redis online store marks the outage messages it writes for clients (`details.outage`, no
 * address); any other error is told by its kind only (a SQLite store's message names its path).
 */
function onlineStoreReason(err: unknown): string {
  if (err instanceof DeadlineExceeded) return `did not answer within ${err.ms} ms`;
  const outage = isKeelError(err) ? err.details?.outage : undefined;
  if (typeof outage === 'string') return outage;
  return isKeelError(err, 'TEMPORARILY_UNAVAILABLE') ? 'unreachable' : 'failed a ping';
}

function modelsStatus(serving: ModelServer): PartStatus & { served: ServedStatus[] } {
  const listed = serving.list();
  const served: ServedStatus[] = listed.map((m) => ({
    name: m.name,
    version: m.version,
    ...(m.canary
      ? {
          canary: {
            uri: m.canary.uri,
            version: m.canary.version,
            serving: m.canary.ready,
            percent: m.canary.percent,
          },
        }
      : {}),
  }));
  // A model listed nowhere has no version loaded (never after a successful start).
  const missing = serving.names().filter((name) => !listed.some((m) => m.name === name));
  return missing.length === 0
    ? { status: 'up', served }
    : { status: 'down', reason: `no version loaded for ${missing.join(', ')}`, served };
}
