/**
 * Lifecycle hooks: how the leak tracker, the inspector, OpenTelemetry and metrics see contexts
 * and the work running under them.
 *
 * Rules of use:
 * - While nobody subscribes, emitting costs one boolean check: no event object is made.
 * - Hooks run synchronously inside the operation that triggered them (`cancel()`, `withCancel`,
 *   `startOperation`…). Keep them short; never cancel or create contexts from inside one unless
 *   you accept re-entrancy. An exception thrown by a hook does not break the operation: it is
 *   re-thrown from a microtask, so it surfaces as an uncaught exception instead of vanishing.
 * - Integrations report each remote operation with `startOperation(ctx, label)` and call
 *   `end()` exactly once when it settles; that is what leak checks call "zombie work".
 */
import type { Context } from './context.js';
import { getClock } from './clock.js';

/**
 * Which constructor made a context, as reported to `contextCreated`: `withCancel` → `'cancel'`,
 * `withTimeout` → `'timeout'`, `withDeadline` → `'deadline'`, `fromSignal` → `'signal'`,
 * `withValue` → `'value'`, `withoutCancel` → `'withoutCancel'`. (`background()` and `todo()` are
 * process-wide roots that exist before any hook and are never reported.)
 */
export type ContextOrigin = 'cancel' | 'timeout' | 'deadline' | 'signal' | 'value' | 'withoutCancel';

/** @deprecated Renamed {@link ContextOrigin}; this alias stays for existing code. */
export type ContextKind = ContextOrigin;

/** A unit of work reported under a context by `startOperation`. */
export interface OperationInfo {
  /** The context the work runs under. */
  readonly ctx: Context;
  /** What the work is, e.g. `'pg.query'`, `'fetch GET http://…'`, `'sleep'`. */
  readonly label: string;
  /** `clock.now()` when it started. */
  readonly startedAt: number;
}

/** Callbacks for lifecycle events. Every member is optional. */
export interface ContextHooks {
  /**
   * A context was made. `scope` is the `CancelScope` that owns it for cancellable contexts (the
   * object whose `cancel` the caller must call), otherwise undefined.
   */
  contextCreated?(ctx: Context, parent: Context | undefined, origin: ContextOrigin, scope: object | undefined): void;
  /** A cancellable context ended (by its own cancel or deadline, or through an ancestor). */
  contextEnded?(ctx: Context): void;
  /** Work started under `op.ctx` (possibly already ended: that is a bug the explorer reports). */
  operationStarted?(op: OperationInfo): void;
  /** Work reported by `startOperation` settled; `failed` tells whether `end(error)` was called. */
  operationSettled?(op: OperationInfo, failed: boolean, error: unknown): void;
}

/** Returned by `startOperation`: call `end()` on success or `end(error)` on failure, once. */
export interface OperationHandle {
  end(error?: unknown): void;
}

let subscribers: ContextHooks[] = [];
/** @internal True while at least one subscriber exists. Read on hot paths. */
export let hooksActive = false;

/**
 * Subscribes `hooks` to lifecycle events. Returns `unsubscribe()`; call it when done (a
 * subscription left behind makes every context creation pay for event delivery).
 */
export function subscribe(hooks: ContextHooks): () => void {
  if (hooks === null || typeof hooks !== 'object') throw new TypeError('subscribe: hooks must be an object');
  subscribers = [...subscribers, hooks];
  hooksActive = true;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    subscribers = subscribers.filter((h) => h !== hooks);
    hooksActive = subscribers.length > 0;
  };
}

function rethrowLater(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}

/** @internal */
export function emitCreated(ctx: Context, parent: Context | undefined, origin: ContextOrigin, scope: object | undefined): void {
  for (const h of subscribers) {
    if (h.contextCreated) {
      try {
        h.contextCreated(ctx, parent, origin, scope);
      } catch (e) {
        rethrowLater(e);
      }
    }
  }
}

/** @internal */
export function emitEnded(ctx: Context): void {
  for (const h of subscribers) {
    if (h.contextEnded) {
      try {
        h.contextEnded(ctx);
      } catch (e) {
        rethrowLater(e);
      }
    }
  }
}

const NOOP_HANDLE: OperationHandle = { end() {} };

class Operation implements OperationInfo, OperationHandle {
  private ended = false;
  constructor(
    readonly ctx: Context,
    readonly label: string,
    readonly startedAt: number,
  ) {}
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const failed = arguments.length > 0;
    for (const h of subscribers) {
      if (h.operationSettled) {
        try {
          h.operationSettled(this, failed, error);
        } catch (e) {
          rethrowLater(e);
        }
      }
    }
  }
}

/**
 * Reports that work labelled `label` starts under `ctx`; returns a handle whose `end()` the caller
 * must call exactly once when the work settles (later calls are ignored). Call it before checking
 * whether `ctx` has ended, so tools can see work attempted on an ended context. Costs nothing
 * (a shared no-op handle) while nobody subscribes.
 */
export function startOperation(ctx: Context, label: string): OperationHandle {
  if (!hooksActive) return NOOP_HANDLE;
  const op = new Operation(ctx, label, getClock().now());
  for (const h of subscribers) {
    if (h.operationStarted) {
      try {
        h.operationStarted(op);
      } catch (e) {
        rethrowLater(e);
      }
    }
  }
  return op;
}
