/**
 * @module features/online-redis
 * The production online store: one Redis hash per entity (the key is the prefix plus Feast's
 * serialized EntityKey bytes, as Feast's Redis store keys its hashes), one field per view holding
 * `<eventTs>|<createdTs>|<payload>`. A read of every view of a request for many entities is one
 * script call of an HMGET per entity (one round trip, one reply), sent in chunks so a huge request
 * never holds the event loop for long; a lone entity's read is one HMGET. The reads that
 * concurrent requests make in one turn of the event loop are merged into one such call. A
 * marker key records the layout version, so a prefix written by an older Keel is refused with the
 * way out instead of read as empty.
 *
 * Outages fail fast: commands are never queued while the client is disconnected, a command in
 * flight when the connection drops fails at once (no retry per request), and every call runs
 * through a circuit (features/redis-circuit) with a deadline. The client reconnects in the
 * background (backoff up to 1 s) and its reconnection closes the circuit.
 */
import { Redis } from 'ioredis';
import { KeelError } from '../core/index.js';
import {
  ONLINE_FORMAT,
  type OnlineRecord,
  type OnlineStore,
  type OnlineStoreOptions,
  type OnlineWriteRow,
  type ViewRead,
} from './online-store.js';
import { outage, outageReason, RedisCircuit } from './redis-circuit.js';

/** Default deadline of a connection attempt and of an online read (ms). */
const DEFAULT_TIMEOUT_MS = 1000;
/** A write batch (materialization, push) may run far longer than a read. */
const WRITE_TIMEOUT_MS = 30_000;
const DEFAULT_COOLDOWN_MS = 1000;

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

// Every view's field of each key's hash, in one call: a pipeline of one HMGET per entity costs the
// client a command object, a promise and a reply callback each (10 us an entity here), where one
// script call returns one nested reply. Like the write, it needs one Redis node.
const READ_VIEWS = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, unpack(ARGV))
end
return out`;

/** Keys per read call: large reads yield to the event loop between chunks, and merged reads stop there. */
const READ_CHUNK = 1000;
/** The marker key (under the prefix) holding the layout version. */
const FORMAT_KEY = '__keel_online_format__';

type WithWrite = Redis & {
  keelWriteIfNewer(keyCount: number, ...keysThenArgs: (string | number | Buffer)[]): Promise<number>;
  keelReadViews(keyCount: number, ...keysThenViews: (string | Buffer)[]): Promise<(string | null)[][]>;
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

/** A read waiting for the turn's merged call: its views (joined, the merge key) and keys. */
interface QueuedRead {
  views: string[];
  keys: readonly string[];
  resolve: (replies: (string | null)[][]) => void;
  reject: (err: unknown) => void;
}

class RedisOnlineStore implements OnlineStore {
  readonly type = 'redis' as const;
  /** Reads of this turn of the event loop, by their views; sent together at its end. */
  private queued = new Map<string, QueuedRead[]>();
  private queuedKeys = 0;

  constructor(
    private readonly redis: WithWrite,
    private readonly prefix: string,
    private readonly circuit: RedisCircuit,
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
      return await this.circuit.run(
        `writing ${rows.length} rows of view ${view}`,
        () => this.redis.keelWriteIfNewer(keys.length, ...keys, ...args),
        WRITE_TIMEOUT_MS,
      );
    } catch (err) {
      throw this.wrap(err, `writing view ${view}`);
    }
  }

  async onlineRead(view: string, keys: readonly string[]): Promise<(OnlineRecord | undefined)[]> {
    return (await this.onlineReadViews([{ view }], keys))[0];
  }

  /** Every view's field of an entity's hash in one HMGET; a lone entity's is a plain command. */
  async onlineReadViews(
    reads: readonly ViewRead[],
    keys: readonly string[],
  ): Promise<(OnlineRecord | undefined)[][]> {
    // Whole records: a hash field holds one, and the reader decodes only the features it wants.
    const views = reads.map((r) => r.view);
    const out = views.map(() => new Array<OnlineRecord | undefined>(keys.length));
    for (let start = 0; start < keys.length; start += READ_CHUNK) {
      const chunk = keys.length <= READ_CHUNK ? keys : keys.slice(start, start + READ_CHUNK);
      const replies =
        chunk.length < READ_CHUNK ? await this.queueRead(views, chunk) : await this.readNow(views, chunk);
      for (let k = 0; k < chunk.length; k++) {
        const fields = replies[k];
        for (let v = 0; v < views.length; v++) {
          const raw = fields[v];
          out[v][start + k] = raw === null ? undefined : parseStored(raw);
        }
      }
    }
    return out;
  }

  /**
   * Reads `keys` with the other reads of `views` made in this turn of the event loop: one call
   * for all of them at its end (as ioredis's auto-pipelining would send them, but as one command
   * and one reply rather than a pipeline of an object, a promise and a reply each).
   */
  private queueRead(views: string[], keys: readonly string[]): Promise<(string | null)[][]> {
    return new Promise((resolve, reject) => {
      if (this.queued.size === 0) setImmediate(() => this.sendQueued());
      const id = views.join('\u0000');
      const read = { views, keys, resolve, reject };
      const same = this.queued.get(id);
      if (same) same.push(read);
      else this.queued.set(id, [read]);
      this.queuedKeys += keys.length;
      // A merged call stays within a chunk: what is queued goes now.
      if (this.queuedKeys >= READ_CHUNK) this.sendQueued();
    });
  }

  private sendQueued(): void {
    const groups = [...this.queued.values()];
    this.queued.clear();
    this.queuedKeys = 0;
    for (const reads of groups) {
      const keys = reads.length === 1 ? reads[0].keys : reads.flatMap((r) => r.keys);
      this.readNow(reads[0].views, keys).then(
        (replies) => {
          let at = 0;
          for (const r of reads) {
            r.resolve(reads.length === 1 ? replies : replies.slice(at, at + r.keys.length));
            at += r.keys.length;
          }
        },
        (err: unknown) => {
          for (const r of reads) r.reject(err);
        },
      );
    }
  }

  /** Every view's field of each key's hash, in one call: a lone key's is a plain HMGET. */
  private readNow(views: string[], keys: readonly string[]): Promise<(string | null)[][]> {
    return this.circuit.run(`reading ${keys.length} entities of ${views.join(', ')}`, async () =>
      keys.length === 1
        ? [await this.redis.hmget(Buffer.from(keys[0], 'hex'), ...views)]
        : this.redis.keelReadViews(keys.length, ...keys.map((key) => Buffer.from(key, 'hex')), ...views),
    );
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

  async ping(): Promise<void> {
    await this.circuit.run('answering a ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    // QUIT needs a connection; without one there is nothing to say goodbye to.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect());
    else this.redis.disconnect();
  }

  /** Marks a fresh prefix with the layout version, or refuses one written in another layout. */
  async checkLayout(): Promise<void> {
    const version = await this.redis.get(FORMAT_KEY);
    if (version === String(ONLINE_FORMAT)) return;
    if (version !== null) {
      throw new KeelError(
        'INVALID_STATE',
        `The Redis online store's prefix '${this.prefix}' has layout version ${version}; this Keel reads version ${ONLINE_FORMAT}`,
      );
    }
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scanBuffer(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) {
        throw new KeelError(
          'INVALID_STATE',
          `The Redis online store holds records under prefix '${this.prefix}' in Keel's first layout (text entity keys), which this version cannot read; delete them and run keel features materialize again (README: "Upgrading an online store")`,
        );
      }
      cursor = String(next);
    } while (cursor !== '0');
    await this.redis.set(FORMAT_KEY, String(ONLINE_FORMAT), 'NX');
  }

  /** A refused command's error (the circuit's own are KeelErrors already). */
  wrap(err: unknown, what: string): KeelError {
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
 * @throws KeelError TEMPORARILY_UNAVAILABLE when Redis does not answer within `timeoutMs`;
 *   INVALID_STATE when the prefix holds an older layout.
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
    // No auto-pipelining: the store merges concurrent reads itself (queueRead), into one command.
    // ioredis's pipelines cost an object, a promise and a reply each, and the extra garbage made
    // young collections take twice as long under load (bench/serving/predict.ts).
    retryStrategy: (attempt) => Math.min(100 * 2 ** (attempt - 1), 1000),
  });
  redis.defineCommand('keelWriteIfNewer', { lua: WRITE_IF_NEWER });
  redis.defineCommand('keelReadViews', { lua: READ_VIEWS });
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
  const store = new RedisOnlineStore(redis as WithWrite, prefix, circuit);
  try {
    await store.checkLayout();
  } catch (err) {
    redis.disconnect();
    throw store.wrap(err, 'checking the layout version');
  }
  return store;
}
