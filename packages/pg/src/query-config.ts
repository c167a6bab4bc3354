/** The query method's signature, shared by pools, clients, transactions and savepoints. */
import type { QueryArrayConfig, QueryArrayResult, QueryConfig, QueryConfigValues, QueryResult, QueryResultRow } from 'pg';
import { describeValue, type Context } from '@ctxkit/core';

/**
 * Something that runs one SQL statement under a context — node-postgres's `query`, with the
 * context first. The promise settles with pg's result or error, except that once `ctx` ends
 * before the result arrives it rejects with `ctx.err` (after the statement has stopped in the
 * server). Submittable queries (pg-cursor, pg-query-stream) are not accepted.
 */
export interface Queryable {
  query<R extends any[] = any[], I = any[]>(
    ctx: Context,
    queryConfig: QueryArrayConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryArrayResult<R>>;
  query<R extends QueryResultRow = any, I = any[]>(
    ctx: Context,
    queryTextOrConfig: string | QueryConfig<I>,
    values?: QueryConfigValues<I>,
  ): Promise<QueryResult<R>>;
}

/**
 * @internal SQL text with its values, kept apart so node-postgres takes its cheapest path
 * (`client.query(text, values, cb)`), with no config object to copy.
 */
export class Statement {
  constructor(
    readonly text: string,
    readonly values: unknown[] | undefined,
  ) {}
}

/** @internal SQL text this package sends itself. */
export function sql(text: string): Statement {
  return new Statement(text, undefined);
}

/** @internal What the lane sends: plain text and values, or a (copied) query config. */
export type Sendable = Statement | QueryConfig;

/**
 * @internal A fresh query config for node-postgres (which writes `values` and `callback` into the
 * object it is given, so the caller's object is never passed on). Throws `TypeError` naming what
 * is wrong.
 */
export function toConfig(fn: string, text: unknown, values: unknown): Sendable {
  if (values !== undefined && values !== null && !Array.isArray(values)) {
    throw new TypeError(`${fn}: values must be an array, got ${describeValue(values)}`);
  }
  if (typeof text === 'string') {
    return new Statement(text, values == null ? undefined : (values as unknown[]));
  }
  if (text !== null && typeof text === 'object') {
    if (typeof (text as { submit?: unknown }).submit === 'function') {
      throw new TypeError(
        `${fn}: submittable queries (pg-cursor, pg-query-stream, pg.Query) are not supported; pass SQL text or a query config`,
      );
    }
    const c = text as Partial<QueryConfig>;
    if (typeof c.text !== 'string') {
      throw new TypeError(`${fn}: a query config needs a string "text", got ${describeValue(c.text)}`);
    }
    if (c.values !== undefined && c.values !== null && !Array.isArray(c.values)) {
      throw new TypeError(`${fn}: queryConfig.values must be an array, got ${describeValue(c.values)}`);
    }
    const copy = { ...c } as QueryConfig & { callback?: unknown };
    delete copy.callback;
    if (values != null) copy.values = values as unknown[];
    return copy;
  }
  throw new TypeError(`${fn}: query must be SQL text or a query config object, got ${describeValue(text)}`);
}

/**
 * @internal What an `operation` teardown's `cancel` returns when the work itself delivers the
 * outcome after a cancel (the statement queue rejects with `ctx.err` once the statement has
 * stopped): a thenable that never settles, so the operation stays pending until the work
 * settles. Shared, and it registers nothing: nothing is allocated or retained per call.
 */
export const UNTIL_SETTLED: PromiseLike<never> = {
  // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose; a shared never-settling Promise would keep every reaction registered on it forever
  then(): PromiseLike<never> {
    return UNTIL_SETTLED;
  },
};
