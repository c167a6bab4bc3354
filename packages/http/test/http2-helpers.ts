// Shared by the node:http2 test files: HTTP/2 servers on loopback that close every session they
// accepted, clients whose raw socket the test can destroy (a client process dying), and a
// request helper that collects the status and the body.
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface ServedH2 {
  server: http2.Http2Server;
  port: number;
  url: string;
  /** The server-side sessions accepted so far (closed ones included). */
  sessions: http2.ServerHttp2Session[];
  close(): Promise<void>;
}

export interface Client {
  session: http2.ClientHttp2Session;
  /** The TCP socket under the session: destroying it is the client's process going away. */
  socket: net.Socket;
}

const openServers = new Set<ServedH2>();
const openClients = new Set<http2.ClientHttp2Session>();

/** Starts an HTTP/2 (h2c) server on an ephemeral loopback port; `closeAllH2` closes it if the test does not. */
export async function serveH2(server: http2.Http2Server): Promise<ServedH2> {
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => {
    sessions.push(s);
    s.on('error', () => {}); // a session destroyed by a test's client
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const served: ServedH2 = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    sessions,
    async close() {
      if (!openServers.delete(served)) return;
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  openServers.add(served);
  return served;
}

/** Connects a `node:http2` client to `port`, keeping its TCP socket at hand. */
export async function connect(port: number): Promise<Client> {
  let socket!: net.Socket;
  const session = http2.connect(`http://127.0.0.1:${port}`, {
    createConnection: () => {
      socket = net.connect(port, '127.0.0.1');
      return socket;
    },
  });
  session.on('error', () => {}); // sessions the tests destroy on purpose
  openClients.add(session);
  session.once('close', () => openClients.delete(session));
  await once(session, 'connect');
  return { session, socket };
}

/** Destroys the clients and closes the servers still open (an `afterEach` hook). */
export async function closeAllH2(): Promise<void> {
  for (const c of openClients) c.destroy();
  openClients.clear();
  await Promise.all([...openServers].map((s) => s.close()));
}

export interface Reply {
  status: number;
  body: string;
}

/** Sends one request on `session` and collects the reply. */
export async function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string | Buffer,
): Promise<Reply> {
  const req = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) req.end(body);
  const [h] = (await once(req, 'response')) as [http2.IncomingHttpHeaders];
  let text = '';
  req.setEncoding('utf8');
  for await (const chunk of req) text += chunk as string;
  return { status: Number(h[':status']), body: text };
}

/** Opens a request on `session` whose reply the test does not wait for (it resets or abandons it). */
export function open(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
  const req = session.request(headers);
  req.on('error', () => {}); // reset by the test, or by the session going away
  req.resume();
  return req;
}

/** Resolves when `stream` has closed (`events.once` would reject on the 'error' a reset emits). */
export function closed(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed && stream.destroyed) resolve();
    else stream.once('close', () => resolve());
  });
}
