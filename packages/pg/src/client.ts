/** `wrapClient`: one pg.Client (or a client checked out by hand) bound to contexts. */
import type { ClientBase, QueryResult } from 'pg';
import { operation, type Context } from '@ctxkit/core';
import { HeldConnection } from './held-connection.js';
import { laneOf } from './lane.js';
import { resolveOptions, type PgOptions } from './options.js';
import { toConfig, UNTIL_SETTLED, type Queryable } from './query-config.js';
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
  laneOf(client, o.cleanupTimeoutMs);
  const need = new SessionTimeout(o);

  function query(ctx: Context, text: unknown, values?: unknown): Promise<any> {
    return operation<QueryResult>(ctx, 'pg.query', (settle) => {
      const config = toConfig('client.query', text, values);
      const held = new HeldConnection(client, o, false);
      const job = held.lane.exec(
        ctx,
        config,
        undefined,
        (e, res) => {
          held.release();
          if (e !== undefined) settle.reject(e);
          else settle.resolve(res!);
        },
        need,
        false,
      );
      return () => {
        held.lane.cancel(job);
        return UNTIL_SETTLED;
      };
    });
  }

  return { client, query } as WrappedClient;
}
