/**
 * @module features/online-redis
 * The production online store: one Redis hash per entity (the key is the prefix plus Feast's
 * serialized EntityKey bytes, as Feast's Redis store keys its hashes), one field per view holding
 * `<eventTs>|<createdTs>|<payload>`. A read of one view for many entities is one pipeline of HGETs
 * (one round trip), sent in chunks so a huge request never holds the event loop for long. A
 * marker key records the layout version, so a prefix written by an older Keel is refused with the
 * way out instead of read as empty.
 */
import { Redis } from 'ioredis';
import { KeelError } from '../core/index.js';
import {
  ONLINE_FORMAT,
  type OnlineRecord,
  type OnlineStore,
  type OnlineStoreOptions,
  type OnlineWriteRow,
} from './online-store.js';

// Runs inside Redis so the compare-and-set of the write contract is atomic. One call writes a
// whole batch; ARGV holds the view, then per key its event time, created time ('' for none) and
// stored value. The header is parsed with string.match, not cjson: the payload is never decoded.
// A batch spans hash slots, so this needs one Redis node.
const WRITE_IF_NEWER = `
local written = 0
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 3 + 1
  local t, c = tonumber(ARGV[at + 1]), ARGV[at + 2]
  local cur = redis.call('HGET', key, ARGV[1])
  local newer = true
  if cur then
    local ct, cc = string.match(cur, '^(%-?%d+)|(%-?%d*)|')
    ct = tonumber(ct)
    if ct > t then
      newer = false
    elseif ct == t then
      if c == '' then
        newer = cc == ''
      elseif cc ~= '' then
        newer = tonumber(c) >= tonumber(cc)
      end
    end
  end
  if newer then
    redis.call('HSET', key, ARGV[1], ARGV[at + 3])
    written = written + 1
  end
end
return written`;

/** Keys per pipeline on reads: large reads yield to the event loop between chunks. */
const READ_CHUNK = 1000;
/** The marker key (under the prefix) holding the layout version. */
const FORMAT_KEY = '__keel_online_format__';

type WithWrite = Redis & {
  keelWriteIfNewer(keyCount: number, ...keysThenArgs: (string | number | Buffer)[]): Promise<number>;
};

function parseStored(raw: string): OnlineRecord {
  const a = raw.indexOf('|');
  const b = raw.indexOf('|', a + 1);
  const created = raw.slice(a + 1, b);
  return {
    eventTs: Number(raw.slice(0, a)),
    createdTs: created === '' ? undefined : Number(created),
    payload: raw.slice(b + 1),
  };
}

class RedisOnlineStore implements OnlineStore {
  readonly type = 'redis' as const;

  constructor(
    private readonly redis: WithWrite,
    private readonly prefix: string,
  ) {}

  async onlineWrite(view: string, rows: readonly OnlineWriteRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const keys = rows.map((r) => Buffer.from(r.entityKey, 'hex'));
    const args: (string | number)[] = [view];
    for (const { record } of rows) {
      const created = record.createdTs === undefined ? '' : String(record.createdTs);
      args.push(record.eventTs, created, `${record.eventTs}|${created}|${record.payload}`);
    }
    try {
      return await this.redis.keelWriteIfNewer(keys.length, ...keys, ...args);
    } catch (err) {
      throw this.wrap(err, `writing view ${view}`);
    }
  }

  async onlineRead(view: string, keys: readonly string[]): Promise<(OnlineRecord | undefined)[]> {
    const out: (OnlineRecord | undefined)[] = [];
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const pipeline = this.redis.pipeline();
      for (const key of keys.slice(start, start + READ_CHUNK)) pipeline.hget(Buffer.from(key, 'hex'), view);
      const results = (await pipeline.exec()) ?? [];
      for (const [err, raw] of results) {
        if (err) throw this.wrap(err, `reading view ${view}`);
        out.push(raw === null ? undefined : parseStored(raw as string));
      }
    }
    return out;
  }

  async deleteView(view: string): Promise<void> {
    const prefix = Buffer.from(this.prefix);
    let cursor = '0';
    do {
      // SCAN matches raw keys, so the prefix is stripped for HDEL (ioredis adds it again).
      const [next, keys] = await this.redis.scanBuffer(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      cursor = String(next);
      const hashes = keys.filter((k) => !k.subarray(prefix.length).equals(Buffer.from(FORMAT_KEY)));
      if (hashes.length > 0) {
        const pipeline = this.redis.pipeline();
        for (const key of hashes) pipeline.hdel(key.subarray(prefix.length), view);
        await pipeline.exec();
      }
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }

  /** Marks a fresh prefix with the layout version, or refuses one written in another layout. */
  async checkLayout(url: string): Promise<void> {
    const version = await this.redis.get(FORMAT_KEY);
    if (version === String(ONLINE_FORMAT)) return;
    if (version !== null) {
      throw new KeelError(
        'INVALID_STATE',
        `Redis online store ${url} prefix '${this.prefix}' has layout version ${version}; this Keel reads version ${ONLINE_FORMAT}`,
      );
    }
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scanBuffer(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) {
        throw new KeelError(
          'INVALID_STATE',
          `Redis online store ${url} holds records under prefix '${this.prefix}' in Keel's first layout (text entity keys), which this version cannot read; delete them and run keel features materialize again (README: "Upgrading an online store")`,
        );
      }
      cursor = String(next);
    } while (cursor !== '0');
    await this.redis.set(FORMAT_KEY, String(ONLINE_FORMAT), 'NX');
  }

  wrap(err: unknown, what: string): KeelError {
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
 * @throws KeelError TEMPORARILY_UNAVAILABLE when Redis does not answer; INVALID_STATE when the
 * prefix holds an older layout.
 */
export async function openRedisOnlineStore(
  config: { url: string },
  options: OnlineStoreOptions = {},
): Promise<OnlineStore> {
  const prefix = options.keyPrefix ?? 'keel:';
  const redis = new Redis(config.url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 2 });
  redis.defineCommand('keelWriteIfNewer', { lua: WRITE_IF_NEWER });
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
  const store = new RedisOnlineStore(redis as WithWrite, prefix);
  try {
    await store.checkLayout(config.url);
  } catch (err) {
    redis.disconnect();
    throw err instanceof KeelError ? err : store.wrap(err, 'checking the layout version');
  }
  return store;
}
