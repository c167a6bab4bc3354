/**
 * The PostgreSQL CancelRequest: a 16-byte message on a fresh connection to the server, asking it
 * to interrupt whatever the backend identified by (process id, secret key) is running.
 *
 * The server answers nothing; it closes the connection once it has signalled the backend. That
 * close is what makes it safe to send the next statement on the cancelled connection: a cancel
 * signal that reaches an idle backend is discarded by PostgreSQL, so once the server has closed
 * the cancel connection the signal can no longer land on a later statement.
 *
 * The request travels like the client's own connection: when the client uses TLS (pg's `ssl`
 * option), the cancel connection sends an SSLRequest and upgrades to TLS with the same options
 * (or starts TLS at once with `sslnegotiation=direct`) before writing the request, so the
 * backend's secret key never crosses the network in the clear and a server that accepts only
 * TLS connections receives it; a plain client's request goes over plain TCP.
 */
import net from 'node:net';
import tls from 'node:tls';
import { getClock } from '@ctxkit/core';

/**
 * How the cancel connection is secured, copied from the client's connection: the TLS options
 * node-postgres used (its `ssl` option, with `host`/`servername` set the way it sets them) and
 * whether TLS starts without an SSLRequest (`sslnegotiation=direct`).
 */
export interface CancelTls {
  readonly options: tls.ConnectionOptions;
  readonly direct: boolean;
}

/**
 * Where the backend's server listens — a TCP address or a Unix socket path — and, when the
 * client's connection uses TLS, how to secure the cancel connection (`tls`, else plain).
 */
export type CancelTarget =
  | { readonly host: string; readonly port: number; readonly tls?: CancelTls | undefined }
  | { readonly path: string; readonly tls?: CancelTls | undefined };

/**
 * How the request ended:
 * - `'delivered'`: written, and the server closed the connection — the backend has been signalled.
 * - `'not-sent'`: the request never left this process (connect failed, the server refused TLS,
 *   the TLS handshake failed) — nothing will be signalled.
 * - `'unknown'`: written, but no orderly close within the time limit — a signal may still arrive.
 */
export type CancelOutcome = 'delivered' | 'not-sent' | 'unknown';

const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679

/** Encodes the CancelRequest message. */
export function encodeCancelRequest(processId: number, secretKey: number): Buffer {
  const buf = Buffer.allocUnsafe(16);
  buf.writeInt32BE(16, 0);
  buf.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  buf.writeInt32BE(processId | 0, 8);
  buf.writeInt32BE(secretKey | 0, 12);
  return buf;
}

/** Encodes the SSLRequest message (the server answers one byte: 'S' to go on with TLS, 'N' not). */
export function encodeSslRequest(): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeInt32BE(8, 0);
  buf.writeInt32BE(SSL_REQUEST_CODE, 4);
  return buf;
}

function noop(): void {}

/**
 * Sends a CancelRequest for (`processId`, `secretKey`) to `target` (over TLS when `target.tls`
 * says so); calls `done(outcome)` exactly once, at the latest `timeoutMs` after the call (timer
 * from the core clock). Every socket is destroyed before `done` runs.
 */
export function sendCancelRequest(
  target: CancelTarget,
  processId: number,
  secretKey: number,
  timeoutMs: number,
  done: (outcome: CancelOutcome) => void,
): void {
  const clock = getClock();
  let written = false;
  let finished = false;
  const raw = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
  let secure: tls.TLSSocket | undefined;
  const finish = (outcome: CancelOutcome): void => {
    if (finished) return;
    finished = true;
    clock.clearTimer(timer);
    secure?.destroy();
    raw.destroy();
    done(outcome);
  };
  const timer = clock.setTimer(() => finish(written ? 'unknown' : 'not-sent'), timeoutMs, false);
  const onError = (): void => finish(written ? 'unknown' : 'not-sent');
  const onClose = (): void => finish(written ? 'delivered' : 'not-sent');
  const write = (socket: net.Socket): void => {
    written = true;
    socket.write(encodeCancelRequest(processId, secretKey));
  };
  raw.setNoDelay(true);
  raw.once('error', onError);
  raw.once('close', onClose);
  const t = target.tls;
  if (t === undefined) {
    raw.once('connect', () => write(raw));
    raw.on('data', noop); // the server sends nothing; never let data pile up
    return;
  }
  const upgrade = (): void => {
    const socket = tls.connect({ ...t.options, socket: raw });
    secure = socket;
    socket.once('secureConnect', () => write(socket));
    socket.on('data', noop);
    socket.once('error', onError);
    socket.once('close', onClose);
  };
  if (t.direct) {
    raw.once('connect', upgrade);
    return;
  }
  raw.once('connect', () => raw.write(encodeSslRequest()));
  // One byte: 'S' (go on with TLS), 'N' (no TLS here: the request is not sent in the clear).
  raw.once('data', (buf: Buffer) => (buf[0] === 0x53 && buf.length === 1 ? upgrade() : finish('not-sent')));
}

interface ClientFields {
  connection?: { stream?: { remoteAddress?: unknown; remotePort?: unknown }; ssl?: unknown; sslNegotiation?: unknown };
  host?: unknown;
  port?: unknown;
  ssl?: unknown;
  sslNegotiation?: unknown;
}

/**
 * The TLS settings of `client`'s connection, built the way node-postgres builds them for its
 * own (its `ssl` option: `true` or the TLS options; `host` as given for the identity check,
 * `servername` unless the host is an IP address; ALPN `postgresql` with direct negotiation), or
 * undefined when it connects in plain.
 */
export function cancelTlsOf(client: object): CancelTls | undefined {
  const c = client as ClientFields;
  const ssl = c.connection?.ssl ?? c.ssl;
  if (ssl === undefined || ssl === null || ssl === false) return undefined;
  const options: tls.ConnectionOptions = {};
  const host = typeof c.host === 'string' ? c.host : undefined;
  if (host !== undefined) options.host = host;
  if (typeof ssl === 'object') {
    Object.assign(options, ssl);
    // node-postgres makes `key` non-enumerable (kept out of logs); copy it as node-postgres does.
    if ('key' in ssl) options.key = (ssl as { key?: tls.ConnectionOptions['key'] }).key;
  }
  const direct = (c.connection?.sslNegotiation ?? c.sslNegotiation) === 'direct';
  if (direct) options.ALPNProtocols = ['postgresql'];
  if (host !== undefined && net.isIP(host) === 0) options.servername = host;
  return { options, direct };
}

/**
 * Where and how to send `client`'s cancel requests: the address node-postgres is actually
 * connected to (the resolved peer of its socket), else its configured host/port (a host starting
 * with `/` is a Unix socket directory, as in libpq); secured like the client's connection (see
 * `cancelTlsOf`). `undefined` when the address is not known.
 */
export function cancelTargetOf(client: object): CancelTarget | undefined {
  const c = client as ClientFields;
  const stream = c.connection?.stream;
  const secured = cancelTlsOf(client);
  if (stream !== undefined && typeof stream.remoteAddress === 'string' && typeof stream.remotePort === 'number') {
    return { host: stream.remoteAddress, port: stream.remotePort, tls: secured };
  }
  const port = typeof c.port === 'number' ? c.port : Number(c.port);
  if (typeof c.host === 'string' && Number.isInteger(port) && port > 0) {
    return c.host.startsWith('/') ? { path: `${c.host}/.s.PGSQL.${port}`, tls: secured } : { host: c.host, port, tls: secured };
  }
  return undefined;
}
