/**
 * A lean HTTP/1.1 load generator for the serving benches: raw keep-alive sockets, requests
 * serialized once up front, responses framed by their content-length (or chunked terminator)
 * and judged by their status line. Node's `http.request` costs the generator about as much CPU
 * per request as the server under test spends answering it; on a 2-core machine that cost comes
 * out of the server's share, so the figures would measure the client.
 */
import net from 'node:net';

export interface Target {
  url: string;
  path: string;
  /** Request bodies, sent in turn. */
  bodies: string[];
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface RateResult {
  /** Milliseconds from when each request was due to its answer. */
  due: Percentiles;
  /**
   * Milliseconds from when each request was due to when it was written: the generator's own
   * lateness (its timer's granularity, its core's other work), which `due` counts against the
   * server too.
   */
  late: Percentiles;
  errors: number;
}

/** Every body of `t` as a complete request, ready to write. */
function requests(t: Target): Buffer[] {
  const { host } = new URL(t.url);
  return t.bodies.map((body) =>
    Buffer.from(
      `POST ${t.path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  );
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** One keep-alive connection; `send` resolves with the status code of the answer. */
class Connection {
  private readonly socket: net.Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private pending?: { resolve: (status: number) => void; reject: (e: Error) => void };
  readonly ready: Promise<void>;

  constructor(port: number, host: string) {
    this.socket = net.connect({ port, host, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const fail = (e: Error) => {
      const p = this.pending;
      this.pending = undefined;
      p?.reject(e);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  send(request: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const headerEnd = this.buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.buffered.toString('latin1', 0, headerEnd);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let end: number;
    if (length) {
      end = headerEnd + 4 + Number(length[1]);
      if (this.buffered.length < end) return;
    } else {
      const last = this.buffered.indexOf(CHUNKED_END, headerEnd + 4);
      if (last < 0) return;
      end = last + CHUNKED_END.length;
    }
    this.buffered = this.buffered.subarray(end);
    const p = this.pending;
    this.pending = undefined;
    p?.resolve(Number(head.slice(9, 12)));
  }

  close(): void {
    this.socket.destroy();
  }
}

export function percentiles(samples: Float64Array): Percentiles {
  const sorted = samples.slice().sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

const open = async (t: Target): Promise<Connection> => {
  const { hostname, port } = new URL(t.url);
  const c = new Connection(Number(port), hostname);
  await c.ready;
  return c;
};

/** Closed loop: `connections` callers, each sending its next request when the last one answered. */
export async function closedLoop(
  t: Target,
  seconds: number,
  connections: number,
): Promise<{ perSecond: number; errors: number }> {
  const bodies = requests(t);
  const pool = await Promise.all(Array.from({ length: connections }, () => open(t)));
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  await Promise.all(
    pool.map(async (c, k) => {
      for (let i = k; performance.now() < end; i += connections) {
        const status = await c.send(bodies[i % bodies.length]).catch(() => 0);
        if (status === 200) done++;
        else errors++;
      }
    }),
  );
  for (const c of pool) c.close();
  return { perSecond: done / seconds, errors };
}

/**
 * Open loop: request i is due at start + i / rate, whatever happened to the ones before, and
 * timed from when it was due. A request due while every connection waits opens another one.
 */
export async function openLoop(t: Target, rate: number, seconds: number): Promise<RateResult> {
  const bodies = requests(t);
  const idle: Connection[] = await Promise.all(Array.from({ length: 8 }, () => open(t)));
  const all = [...idle];
  const total = Math.round(rate * seconds);
  const fromDue = new Float64Array(total);
  const late = new Float64Array(total);
  let errors = 0;
  let sent = 0;
  let settled = 0;
  const start = performance.now();
  const result = await new Promise<RateResult>((resolve) => {
    const finish = () => {
      if (++settled === total) resolve({ due: percentiles(fromDue), late: percentiles(late), errors });
    };
    const fire = async (i: number) => {
      const dueAt = start + (i * 1000) / rate;
      let c = idle.pop();
      if (!c) {
        c = await open(t);
        all.push(c);
      }
      late[i] = performance.now() - dueAt;
      const status = await c.send(bodies[i % bodies.length]).catch(() => 0);
      fromDue[i] = status === 200 ? performance.now() - dueAt : Number.POSITIVE_INFINITY;
      if (status !== 200) errors++;
      // A refused request's connection stays usable; a failed one (status 0) is dropped.
      if (status !== 0) idle.push(c);
      finish();
    };
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) void fire(sent++);
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  for (const c of all) c.close();
  return result;
}
