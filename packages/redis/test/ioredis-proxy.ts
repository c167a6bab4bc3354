// A TCP proxy in front of the test Redis that the ioredis tests control: it counts the bytes each
// client sent, can stall (stop reading from the client, so its socket backs up, as a slow server
// would) and resume, and can drop every connection. It stalls only its own clients, never the
// shared server.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface StallProxy {
  readonly port: number;
  /** Bytes received from clients so far (all connections). */
  readonly bytesFromClients: number;
  /** Stops reading from clients (their writes pile up in their sockets). */
  stall(): void;
  /** Reads and forwards again. */
  resume(): void;
  /** Destroys every connection (both sides); new ones are accepted. */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startStallProxy(redisUrl: string): Promise<StallProxy> {
  const u = new URL(redisUrl);
  const pairs = new Set<[Socket, Socket]>();
  let stalled = false;
  let bytes = 0;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d: Buffer) => {
      bytes += d.length;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
    if (stalled) client.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    get bytesFromClients() {
      return bytes;
    },
    stall() {
      stalled = true;
      for (const [c] of pairs) c.pause();
    },
    resume() {
      stalled = false;
      for (const [c] of pairs) c.resume();
    },
    dropAll() {
      for (const [c, up] of pairs) {
        c.destroy();
        up.destroy();
      }
      pairs.clear();
    },
    close() {
      for (const [c, up] of pairs) {
        c.destroy();
        up.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
