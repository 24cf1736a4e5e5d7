/**
 * @module features/online-redis
 * The production online store: one Redis hash per entity key, one field per view holding
 * `{"t": eventTs, "c": createdTs, "v": values}`. Every view of an entity sits in the same hash, so
 * a read of all requested views is one HMGET per entity, pipelined into one round trip.
 *
 * Outages fail fast: commands are never queued while the client is disconnected, a command in
 * flight when the connection drops fails at once (no retry per request), and every call runs
 * through a circuit (features/redis-circuit) with a deadline. The client reconnects in the
 * background (backoff up to 1 s) and its reconnection closes the circuit.
 */
import { Redis } from 'ioredis';
import { KeelError } from '../core/index.js';
import type {
  OnlineReadRequest,
  OnlineRecord,
  OnlineStore,
  OnlineStoreOptions,
  OnlineWriteRow,
} from './online-store.js';
import { outage, outageReason, RedisCircuit } from './redis-circuit.js';

/** Default deadline of a connection attempt and of an online read (ms). */
const DEFAULT_TIMEOUT_MS = 1000;
/** A write batch (materialization, push) may run far longer than a read. */
const WRITE_TIMEOUT_MS = 30_000;
const DEFAULT_COOLDOWN_MS = 1000;

// Runs inside Redis so the compare-and-set of the write contract is atomic. One call writes a
// whole batch (5x the rate of one call per key here); ARGV holds the view, then per key its
// event time, created time and payload. A batch spans hash slots, so this needs one Redis node.
const WRITE_IF_NEWER = `
local written = 0
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 3 + 1
  local t, c = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local cur = redis.call('HGET', key, ARGV[1])
  local newer = true
  if cur then
    local d = cjson.decode(cur)
    newer = d.t < t or (d.t == t and (d.c or 0) <= c)
  end
  if newer then
    redis.call('HSET', key, ARGV[1], ARGV[at + 3])
    written = written + 1
  end
end
return written`;

interface Stored {
  t: number;
  c?: number;
  v: Record<string, OnlineRecord['values'][string]>;
}

type WithWrite = Redis & {
  keelWriteIfNewer(keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number>;
};

class RedisOnlineStore implements OnlineStore {
  readonly type = 'redis' as const;

  constructor(
    private readonly redis: WithWrite,
    private readonly prefix: string,
    private readonly circuit: RedisCircuit,
  ) {}

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<void> {
    if (rows.length === 0) return;
    const keys = rows.map((r) => r.entityKey);
    const args: (string | number)[] = [view];
    for (const { record } of rows) {
      const payload: Stored = { t: record.eventTs, c: record.createdTs, v: record.values };
      args.push(record.eventTs, record.createdTs ?? 0, JSON.stringify(payload));
    }
    try {
      await this.circuit.run(
        `writing ${rows.length} rows of view ${view}`,
        () => this.redis.keelWriteIfNewer(keys.length, ...keys, ...args),
        WRITE_TIMEOUT_MS,
      );
    } catch (err) {
      throw this.wrap(err, `writing view ${view}`);
    }
  }

  async onlineRead(requests: readonly OnlineReadRequest[]): Promise<(OnlineRecord | undefined)[][]> {
    if (requests.length === 0) return [];
    const results = await this.circuit.run(`reading ${requests.length} entities`, async () => {
      const pipeline = this.redis.pipeline();
      for (const { entityKey, views } of requests) pipeline.hmget(entityKey, ...views);
      const replies = (await pipeline.exec()) ?? [];
      // A dropped connection fails the commands one by one; the circuit must see it.
      const failed = replies.find(([err]) => err);
      if (failed) throw failed[0];
      return replies;
    });
    return requests.map((_req, i) => {
      const [, fields] = results[i];
      return (fields as (string | null)[]).map((raw) => {
        if (raw === null) return undefined;
        const d = JSON.parse(raw) as Stored;
        return { eventTs: d.t, createdTs: d.c ?? undefined, values: d.v };
      });
    });
  }

  async deleteView(view: string): Promise<void> {
    let cursor = '0';
    do {
      // SCAN matches raw keys, so the prefix is added here and stripped for HDEL (ioredis re-adds it).
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        const pipeline = this.redis.pipeline();
        for (const key of keys) pipeline.hdel(key.slice(this.prefix.length), view);
        await pipeline.exec();
      }
    } while (cursor !== '0');
  }

  async ping(): Promise<void> {
    await this.circuit.run('answering a ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    // QUIT needs a connection; without one there is nothing to say goodbye to.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  /** A refused command's error (the circuit's own are KeelErrors already). */
  private wrap(err: unknown, what: string): KeelError {
    if (err instanceof KeelError) return err;
    return new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `Redis online store: ${what} failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Connects to the Redis online store at `config.url`.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when Redis does not answer within `timeoutMs`.
 */
export async function openRedisOnlineStore(
  config: { url: string; timeoutMs?: number },
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  const prefix = options.keyPrefix ?? 'keel:';
  const timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const redis = new Redis(config.url, {
    keyPrefix: prefix,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    // Fail fast: nothing waits for a connection to come back; the circuit and the reconnection
    // loop below do the retrying.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(100 * 2 ** (attempt - 1), 1000),
  });
  redis.defineCommand('keelWriteIfNewer', { lua: WRITE_IF_NEWER });
  const circuit = new RedisCircuit({
    timeoutMs,
    cooldownMs: options.circuitCooldownMs ?? DEFAULT_COOLDOWN_MS,
  });
  // Connection errors also reject the commands in flight, which report them; the listener keeps
  // ioredis from printing them as unhandled, and remembers the first for the message below.
  let connectError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectError ??= err;
  });
  redis.on('ready', () => circuit.close());
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw outage(`the Redis online store does not answer: it ${outageReason(connectError ?? err)}`, err);
  }
  return new RedisOnlineStore(redis as WithWrite, prefix, circuit);
}
