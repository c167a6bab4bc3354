/**
 * @ctxkit/core/node — Node-only helpers: implicit propagation over AsyncLocalStorage, and the
 * bridge from core's lifecycle hooks to `diagnostics_channel`.
 *
 * Rules of use: explicit `ctx` parameters are the main path. `runWith`/`current` are a bridge for
 * code you do not own (loggers, ORMs, framework handlers) — read the context at the boundary and
 * pass it explicitly from there on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import { assertContext, subscribe, todo, type Context } from './index.js';

const storage = new AsyncLocalStorage<Context>();

/**
 * Runs `fn` with `ctx` as the current context for everything it calls, synchronously or
 * asynchronously; returns what `fn` returns. Throws `TypeError` when `ctx` is not a Context.
 */
export function runWith<R>(ctx: Context, fn: () => R): R {
  assertContext(ctx, 'runWith: ctx');
  return storage.run(ctx, fn);
}

/**
 * The context bound by the nearest enclosing `runWith` (framework adapters bind each request's),
 * or `todo()` outside any — a context that never ends, so a missing binding is visible in review
 * rather than a crash.
 */
export function current(): Context {
  return storage.getStore() ?? todo();
}

/** The context bound by the nearest enclosing `runWith`, or `undefined` outside any. */
export function currentOrUndefined(): Context | undefined {
  return storage.getStore();
}

/** The `diagnostics_channel` names the bridge publishes on. */
export const channels = {
  /** `{ ctx, parent, origin }` (and `kind`, the same value, for existing subscribers) */
  contextCreated: 'ctxkit:context:created',
  /** `{ ctx }` */
  contextEnded: 'ctxkit:context:ended',
  /** `{ op }` (op: `{ ctx, label, startedAt }`) */
  operationStarted: 'ctxkit:operation:started',
  /** `{ op, failed, error }` */
  operationSettled: 'ctxkit:operation:settled',
} as const;

/**
 * Publishes core lifecycle events on `diagnostics_channel` (names in `channels`). Opt-in, since
 * while it is on every context creation pays for an event check. Returns `disable()`.
 * Enabling twice shares one subscription; it ends when every `disable()` was called.
 */
export function enableDiagnosticsChannel(): () => void {
  const created = diagnostics_channel.channel(channels.contextCreated);
  const ended = diagnostics_channel.channel(channels.contextEnded);
  const started = diagnostics_channel.channel(channels.operationStarted);
  const settled = diagnostics_channel.channel(channels.operationSettled);
  if (enabledCount++ === 0) {
    unsubscribe = subscribe({
      contextCreated(ctx, parent, origin) {
        if (created.hasSubscribers) created.publish({ ctx, parent, origin, kind: origin });
      },
      contextEnded(ctx) {
        if (ended.hasSubscribers) ended.publish({ ctx });
      },
      operationStarted(op) {
        if (started.hasSubscribers) started.publish({ op });
      },
      operationSettled(op, failed, error) {
        if (settled.hasSubscribers) settled.publish({ op, failed, error });
      },
    });
  }
  let off = false;
  return () => {
    if (off) return;
    off = true;
    if (--enabledCount === 0) {
      unsubscribe?.();
      unsubscribe = undefined;
    }
  };
}

let enabledCount = 0;
let unsubscribe: (() => void) | undefined;
