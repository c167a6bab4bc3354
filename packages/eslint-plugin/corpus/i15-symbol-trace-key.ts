// set: independent
// A tracing helper that predates createKey: a global symbol, cast to get past the Key type.
import { withValue, type Context, type Key } from '@ctxkit/core';

const TRACE_ID = Symbol.for('acme.traceId');

export function withTraceId(ctx: Context, traceId: string): Context {
  return withValue(ctx, TRACE_ID as unknown as Key<string>, traceId); // expect: typed-context-keys
}

export function traceIdOf(ctx: Context): string | undefined {
  return ctx.value(TRACE_ID as unknown as Key<string>); // expect: typed-context-keys
}
