/**
 * A TCP proxy on a loopback port in front of a real service (PostgreSQL, Redis), so a test can
 * make the service really unreachable for the code under test without stopping it for others:
 * `down()` drops every connection and refuses new ones, `stall()` keeps connections open but
 * holds every byte (a service that accepts and never answers), `up()` serves again (held bytes
 * flow on).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  /** The service's URL with the proxy's host and port in place of its own. */
  url: string;
  down(): Promise<void>;
  stall(): void;
  up(): Promise<void>;
  close(): Promise<void>;
}

const listen = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

export async function startTcpProxy(serviceUrl: string): Promise<TcpProxy> {
  const target = new URL(serviceUrl);
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  // Unpiped and paused, a socket keeps what it receives in its buffer until it flows again.
  const flow = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };

  const server = createServer((client) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of pair) {
      s.on('error', drop);
      s.on('close', drop);
    }
    if (!stalled) flow(pair);
  });
  const port = await listen(server, 0);

  return {
    url: Object.assign(new URL(serviceUrl), { hostname: '127.0.0.1', port: String(port) }).toString(),
    async down() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        pairs.clear();
      });
    },
    stall() {
      stalled = true;
      for (const pair of pairs) hold(pair);
    },
    async up() {
      if (stalled) for (const pair of pairs) flow(pair);
      stalled = false;
      if (!server.listening) await listen(server, port);
    },
    async close() {
      await closeServer(server);
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
    },
  };
}
