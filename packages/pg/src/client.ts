/** `wrapClient`: one pg.Client (or a client checked out by hand) bound to contexts. */
import type { ClientBase } from 'pg';
import type { Context } from '@ctxkit/core';
import { laneOf } from './lane.js';
import { resolveOptions, type PgOptions } from './options.js';
import { beginQuery, type Queryable } from './query-config.js';
import { SessionTimeout } from './statement-timeout.js';

/**
 * A single connected pg.Client bound to contexts. Same contract as `Db.query`, plus:
 * - statements sent through this wrapper run one at a time, in call order, so a cancel can
 *   never hit the next one; do not send statements on the raw client while wrapped ones run;
 * - when a cancelled statement cannot be confirmed stopped, or the connection fails its health
 *   check, the client is ended (`client.end()`): create a new one. Attach an 'error' listener to
 *   the client, as node-postgres requires;
 * - the server-side timeout is applied only while the session is outside a transaction (your
 *   own BEGIN on this client turns it off); use `wrapPool(...).transaction` for transactions.
 *   The value a deadline statement set stays in force for the next wrapped statements that it
 *   fits; the first statement you send on the raw client afterwards gets the session's own
 *   value back first (a `SET` queued ahead of it).
 */
export interface WrappedClient extends Queryable {
  /** The wrapped client. */
  readonly client: ClientBase;
}

function checkClient(client: unknown): asserts client is ClientBase {
  const c = client as { query?: unknown } | null;
  if (c === null || typeof c !== 'object' || typeof c.query !== 'function') {
    throw new TypeError(`wrapClient: client must be a pg.Client or pg.PoolClient, got ${c === null ? 'null' : typeof c}`);
  }
}

/**
 * Binds a connected `client` to contexts; see `WrappedClient`. Wrapping the same client twice
 * shares one statement queue. Throws `TypeError` on a bad client or options.
 */
export function wrapClient(client: ClientBase, options?: PgOptions): WrappedClient {
  checkClient(client);
  const o = resolveOptions(options, 'wrapClient');
  const lane = laneOf(client, o.cleanupTimeoutMs);
  const need = new SessionTimeout(o);
  lane.destroy ??= () => {
    const end = (client as { end?: () => Promise<void> | void }).end;
    if (typeof end === 'function') Promise.resolve(end.call(client)).catch(() => {});
  };

  function query(ctx: Context, text: unknown, values?: unknown): Promise<any> {
    const begun = beginQuery(ctx, 'client.query', text, values);
    if (begun instanceof Promise) return begun;
    const { op, config } = begun;
    lane.enter();
    return lane.run(ctx, config, undefined, need).then(
      (res) => {
        lane.leave();
        op.end();
        return res;
      },
      (e: unknown) => {
        lane.leave();
        op.end(e);
        throw e;
      },
    );
  }

  return { client, query } as WrappedClient;
}
