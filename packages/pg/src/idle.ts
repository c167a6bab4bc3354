/**
 * Whether a node-postgres client is idle, and waiting until it is.
 *
 * node-postgres calls a statement's callback with an error as soon as the server's ErrorResponse
 * arrives — before the ReadyForQuery that ends the statement's cycle. In between, the client is
 * still executing: a statement sent then is queued in node-postgres (deprecated since pg 8.x,
 * gone in pg 9), the transaction status it reports is the previous one, and a pool it is
 * released to hands it on while busy. This package sends a statement only to an idle client.
 */
import { getClock } from '@ctxkit/core';

interface ClientFields {
  readyForQuery?: unknown;
  _queryQueue?: unknown;
  connection?: { on?: unknown; removeListener?: unknown } | undefined;
}

/**
 * @internal True while node-postgres is executing a statement on `client` (its ReadyForQuery has
 * not arrived yet) or holds one queued. A client still connecting, or a pg without these fields
 * (pg-native), counts as idle.
 */
export function clientBusy(client: object): boolean {
  const c = client as ClientFields;
  if (c.readyForQuery === false) return true;
  const q = c._queryQueue;
  return Array.isArray(q) && q.length > 0;
}

interface Emitter {
  on(event: string, fn: () => void): unknown;
  removeListener(event: string, fn: () => void): unknown;
}

/**
 * @internal Calls `done()` once `client` is idle (`clientBusy` false): at once when it already
 * is, else after the ReadyForQuery that makes it so (node-postgres's own handler has run by
 * then). Calls `done(err)` instead when the connection ends first or `timeoutMs` passes (timer
 * from core's clock); the caller then treats the connection as broken. `done` runs exactly once;
 * every listener and timer is removed before it runs.
 */
export function whenIdle(client: object, timeoutMs: number, done: (err: Error | undefined) => void): void {
  const con = (client as ClientFields).connection as Emitter | undefined;
  if (!clientBusy(client) || con === undefined || typeof con.on !== 'function' || typeof con.removeListener !== 'function') {
    done(undefined);
    return;
  }
  const clock = getClock();
  let over = false;
  const finish = (err: Error | undefined): void => {
    if (over) return;
    over = true;
    con.removeListener('readyForQuery', onReady);
    con.removeListener('end', onEnd);
    clock.clearTimer(timer);
    done(err);
  };
  const onReady = (): void => {
    if (!clientBusy(client)) finish(undefined);
  };
  const onEnd = (): void => finish(new Error('@ctxkit/pg: the connection closed before the server ended the statement'));
  con.on('readyForQuery', onReady);
  con.on('end', onEnd);
  const timer = clock.setTimer(
    () => finish(new Error(`@ctxkit/pg: the server did not end a failed statement within ${timeoutMs} ms; the connection was closed`)),
    timeoutMs,
    false,
  );
}
