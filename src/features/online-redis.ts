/**
 * @module features/online-redis
 * The production online store: one Redis hash per entity key, one field per view holding
 * `{"t": eventTs, "c": createdTs, "v": values}`. Every view of an entity sits in the same hash, so
 * a read of all requested views is one HMGET per entity, pipelined into one round trip.
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

// Runs inside Redis so the compare-and-set of the write contract is atomic per key.
const WRITE_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local d = cjson.decode(cur)
  local t, c = tonumber(ARGV[2]), tonumber(ARGV[3])
  if d.t > t or (d.t == t and (d.c or 0) > c) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1`;

interface Stored {
  t: number;
  c?: number;
  v: Record<string, OnlineRecord['values'][string]>;
}

type WithWrite = Redis & {
  keelWriteIfNewer(key: string, view: string, ts: number, created: number, payload: string): Promise<number>;
};

class RedisOnlineStore implements OnlineStore {
  readonly type = 'redis' as const;

  constructor(
    private readonly redis: WithWrite,
    private readonly prefix: string,
  ) {}

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<void> {
    if (rows.length === 0) return;
    const pipeline = this.redis.pipeline() as unknown as Pick<WithWrite, 'keelWriteIfNewer' | 'exec'>;
    for (const { entityKey, record } of rows) {
      const payload: Stored = { t: record.eventTs, c: record.createdTs, v: record.values };
      pipeline.keelWriteIfNewer(
        entityKey,
        view,
        record.eventTs,
        record.createdTs ?? 0,
        JSON.stringify(payload),
      );
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw this.wrap(failed[0], `writing view ${view}`);
  }

  async onlineRead(requests: readonly OnlineReadRequest[]): Promise<(OnlineRecord | undefined)[][]> {
    const pipeline = this.redis.pipeline();
    for (const { entityKey, views } of requests) pipeline.hmget(entityKey, ...views);
    const results = (await pipeline.exec()) ?? [];
    return requests.map((req, i) => {
      const [err, fields] = results[i];
      if (err) throw this.wrap(err, `reading ${req.entityKey}`);
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

  async close(): Promise<void> {
    await this.redis.quit();
  }

  private wrap(err: unknown, what: string): KeelError {
    return new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `Redis online store: ${what} failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Connects to the Redis online store at `config.url`.
 * @throws KeelError TEMPORARILY_UNAVAILABLE when Redis does not answer.
 */
export async function openRedisOnlineStore(
  config: { url: string },
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  const prefix = options.keyPrefix ?? 'keel:';
  const redis = new Redis(config.url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.defineCommand('keelWriteIfNewer', { lua: WRITE_IF_NEWER, numberOfKeys: 1 });
  // Connection errors also reject the commands in flight, which report them; the listener keeps
  // ioredis from printing them as unhandled, and remembers the first for the message below.
  let connectError: Error | undefined;
  redis.on('error', (err: Error) => {
    connectError ??= err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    const reason = (connectError ?? (err as Error)).message;
    throw new KeelError(
      'TEMPORARILY_UNAVAILABLE',
      `Redis online store ${config.url} does not answer: ${reason}`,
      {
        cause: err,
      },
    );
  }
  return new RedisOnlineStore(redis as WithWrite, prefix);
}
