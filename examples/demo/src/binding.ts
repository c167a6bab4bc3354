/**
 * TEMPORARY — a minimal request binding written with @ctxkit/core only, until @ctxkit/http lands
 * (then the demo uses its `contextFromRequest` and `ctxFetch` instead, and this file goes away).
 * It handles only what the demo needs: GET requests, one budget header, no tracing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { background, remaining, withCancel, withTimeout, type CancelScope, type Context } from '@ctxkit/core';

/** The cause of a request context whose client went away before the response finished. */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected before the response finished');
  }
}

const BUDGET = /^(\d{1,8})m$/;

/**
 * A context for one request: ends when the client disconnects before the response has finished
 * (cause `ClientGoneError`), when the inbound `grpc-timeout` budget (milliseconds form only) or
 * `maxTimeoutMs` runs out, or when the caller calls `scope.cancel()` — which the handler must do
 * when it returns.
 */
export function requestContext(req: IncomingMessage, res: ServerResponse, opts: { maxTimeoutMs?: number } = {}): CancelScope {
  const header = req.headers['grpc-timeout'];
  const m = typeof header === 'string' ? BUDGET.exec(header) : null;
  const budget = Math.min(m ? Number(m[1]) : Infinity, opts.maxTimeoutMs ?? Infinity);
  const scope = budget === Infinity ? withCancel(background()) : withTimeout(background(), budget);
  const onClose = (): void => {
    if (!res.writableFinished) scope.cancel(new ClientGoneError());
  };
  res.once('close', onClose);
  return scope;
}

/**
 * `fetch` bound to `ctx`: aborted when `ctx` ends (rejecting with `ctx.err`), sends the remaining
 * budget minus `marginMs` as `grpc-timeout`, and resolves only once the body has been read.
 */
export async function fetchText(ctx: Context, url: string, headers: Record<string, string>, marginMs = 10): Promise<{ status: number; body: string }> {
  ctx.throwIfDone();
  const left = remaining(ctx);
  const h: Record<string, string> = { ...headers };
  if (left !== Infinity) h['grpc-timeout'] = `${Math.max(0, Math.floor(left - marginMs))}m`;
  try {
    const r = await fetch(url, { headers: h, signal: ctx.signal });
    return { status: r.status, body: await r.text() };
  } catch (e) {
    // fetch rejects with the signal's reason, which is ctx.err; keep the one-check rule anyway.
    throw ctx.err ?? e;
  }
}
