/**
 * The PostgreSQL CancelRequest: a 16-byte message on a fresh connection to the server, asking it
 * to interrupt whatever the backend identified by (process id, secret key) is running.
 *
 * The server answers nothing; it closes the connection once it has signalled the backend. That
 * close is what makes it safe to send the next statement on the cancelled connection: a cancel
 * signal that reaches an idle backend is discarded by PostgreSQL, so once the server has closed
 * the cancel connection the signal can no longer land on a later statement.
 */
import net from 'node:net';
import { getClock } from '@ctxkit/core';

/** Where the backend's server listens: a TCP address or a Unix socket path. */
export type CancelTarget = { readonly host: string; readonly port: number } | { readonly path: string };

/**
 * How the request ended:
 * - `'delivered'`: written, and the server closed the connection — the backend has been signalled.
 * - `'not-sent'`: the request never left this process (connect failed) — nothing will be signalled.
 * - `'unknown'`: written, but no orderly close within the time limit — a signal may still arrive.
 */
export type CancelOutcome = 'delivered' | 'not-sent' | 'unknown';

const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678

/** Encodes the CancelRequest message. */
export function encodeCancelRequest(processId: number, secretKey: number): Buffer {
  const buf = Buffer.allocUnsafe(16);
  buf.writeInt32BE(16, 0);
  buf.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  buf.writeInt32BE(processId | 0, 8);
  buf.writeInt32BE(secretKey | 0, 12);
  return buf;
}

/**
 * Sends a CancelRequest for (`processId`, `secretKey`) to `target`; calls `done(outcome)` exactly
 * once, at the latest `timeoutMs` after the call (timer from the core clock). The socket is
 * destroyed before `done` runs.
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
  const socket = 'path' in target ? net.connect(target.path) : net.connect(target.port, target.host);
  const finish = (outcome: CancelOutcome): void => {
    if (finished) return;
    finished = true;
    clock.clearTimer(timer);
    socket.destroy();
    done(outcome);
  };
  const timer = clock.setTimer(() => finish(written ? 'unknown' : 'not-sent'), timeoutMs, false);
  socket.setNoDelay(true);
  socket.once('connect', () => {
    written = true;
    socket.write(encodeCancelRequest(processId, secretKey));
  });
  socket.on('data', () => {}); // the server sends nothing; never let data pile up
  socket.once('error', () => finish(written ? 'unknown' : 'not-sent'));
  socket.once('close', () => finish(written ? 'delivered' : 'not-sent'));
}

/**
 * The address node-postgres is actually connected to (the resolved peer of its socket), else its
 * configured host/port (a host starting with `/` is a Unix socket directory, as in libpq).
 * `undefined` when neither is known.
 */
export function cancelTargetOf(client: object): CancelTarget | undefined {
  const c = client as {
    connection?: { stream?: { remoteAddress?: unknown; remotePort?: unknown } };
    host?: unknown;
    port?: unknown;
  };
  const stream = c.connection?.stream;
  if (stream !== undefined && typeof stream.remoteAddress === 'string' && typeof stream.remotePort === 'number') {
    return { host: stream.remoteAddress, port: stream.remotePort };
  }
  const port = typeof c.port === 'number' ? c.port : Number(c.port);
  if (typeof c.host === 'string' && Number.isInteger(port) && port > 0) {
    return c.host.startsWith('/') ? { path: `${c.host}/.s.PGSQL.${port}` } : { host: c.host, port };
  }
  return undefined;
}
