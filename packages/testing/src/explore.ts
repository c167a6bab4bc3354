/**
 * The cancellation explorer: re-runs a piece of async code cancelling it at each of its
 * cancellation points in turn, and checks that every run ends cleanly.
 *
 * Design (also in the README):
 * - A cancellation point is a moment right after a ctxkit event in the explored tree: a ctxkit
 *   operation starting under it (`sleep`, `race`, `track`, every integration call — anything that
 *   reports through core's `startOperation`) or a context being created under it. Events that
 *   happen in the same synchronous stretch of code (before the next microtask checkpoint) form one
 *   point: cancelling between them is impossible from the outside anyway.
 * - Run 0 calls `fn(ctx)` with a fresh `withCancel(background())` root and never cancels: it counts
 *   the points and is checked like the others ("point 0" in the report).
 * - Run k (k = 1..n, at most `maxPoints` of them, spread evenly when n is larger) calls `fn` again
 *   with a fresh root and cancels the root on a microtask queued by point k's first event — i.e.
 *   right after the code that made that event yields: the operation of point k has started and
 *   is in flight, nothing after it has run. (Not synchronously inside the hook: core documents
 *   hooks as not re-entrant, and cancelling inside `startOperation` would only exercise the
 *   fast-fail path.)
 * - Every run is checked: `fn` settles within `timeoutMs` (real time, whatever clock is
 *   installed); it resolves or rejects with a context error; no operation runs on a context
 *   the cancellation ended (one that fails fast with `ctx.err`, as core's `operation()` does
 *   before running anything, did no work and is fine); no unhandled rejection; when `fn` has settled no context it made is
 *   still live; once the root is cancelled (after every run) no work is still running after the
 *   grace period; `invariant()` holds.
 */
import {
  background,
  getClock,
  isContextError,
  subscribe,
  systemClock,
  withCancel,
  type CancelScope,
  type OperationInfo,
} from '@ctxkit/core';
import { assertKnownOptions } from '@ctxkit/core';
import { Tracker, describeLeak, type Leak } from './tracker.js';
import { captureStack, formatStack, indent, userFrames, type Stack } from './stacks.js';
import { realDelay, turns } from './runtime.js';

/** Options of `exploreCancellation` and `assertCancellationSafe`. */
export interface ExploreOptions {
  /**
   * Checked after every run, once its root is cancelled and its work has stopped (e.g. "the
   * balance is unchanged", "the pool is back to its size"). Fails the run when it throws, rejects
   * or returns `false`. May be async.
   */
  invariant?: () => unknown;
  /** At most this many cancelled runs; when `fn` has more points they are spread evenly. Default 200. */
  maxPoints?: number;
  /** A run still pending after this many real milliseconds is a hang. Default 2000. */
  timeoutMs?: number;
  /** Real milliseconds work may keep running after its context ended before it is zombie work. Default 100. */
  graceMs?: number;
  /** (`assertCancellationSafe` only) Accept `fn` having no cancellation point. Default false. */
  allowNoPoints?: boolean;
}

/** One problem found in one run. */
export interface CancellationFailure {
  /** The point the run was cancelled at; 0 for the run without cancellation. */
  readonly point: number;
  /** What went wrong, in one sentence. */
  readonly reason: string;
  /** Where the cancellation landed: the caller's frames at point `point`'s event (absent for point 0). */
  readonly stack?: string;
  /**
   * Where the offending thing happened: the late operation started, the leaked context was made,
   * the unexpected error was thrown or the unhandled rejection was created.
   */
  readonly origin?: string;
  /** The unexpected rejection, unhandled rejection reason or invariant error, when there is one. */
  readonly error?: unknown;
}

/** What `exploreCancellation` found. */
export interface ExploreResult {
  /** How many cancellation points the uncancelled run had. */
  readonly points: number;
  /** The points a cancelled run was made for. */
  readonly explored: number[];
  /** Explored points a re-run never reached (`fn` behaved differently from run 0: not deterministic). */
  readonly unreached: number[];
  /** Every problem, by run. Empty when `fn` is cancellation-safe. */
  readonly failures: CancellationFailure[];
}

/** Thrown by `assertCancellationSafe`; `result` has the details. */
export class CancellationSafetyError extends Error {
  readonly result: ExploreResult;
  constructor(message: string, result: ExploreResult) {
    super(message);
    this.result = result;
  }
  override get name(): string {
    return 'CancellationSafetyError';
  }
}

type Fn = (ctx: import('@ctxkit/core').Context) => unknown;

interface Resolved {
  readonly invariant: (() => unknown) | undefined;
  readonly maxPoints: number;
  readonly timeoutMs: number;
  readonly graceMs: number;
}

function resolveOptions(fnName: string, fn: unknown, o: ExploreOptions): Resolved {
  if (typeof fn !== 'function') throw new TypeError(`${fnName}: fn must be a function (ctx) => Promise, got ${typeof fn}`);
  if (o === null || typeof o !== 'object') throw new TypeError(`${fnName}: options must be an object`);
  assertKnownOptions(o, ['invariant', 'maxPoints', 'timeoutMs', 'graceMs', 'allowNoPoints'], fnName);
  const { invariant, maxPoints = 200, timeoutMs = 2000, graceMs = 100 } = o;
  if (invariant !== undefined && typeof invariant !== 'function') {
    throw new TypeError(`${fnName}: invariant must be a function, got ${typeof invariant}`);
  }
  if (typeof maxPoints !== 'number' || !Number.isInteger(maxPoints) || maxPoints < 1) {
    throw new TypeError(`${fnName}: maxPoints must be an integer >= 1, got ${String(maxPoints)}`);
  }
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new TypeError(`${fnName}: timeoutMs must be a finite number > 0, got ${String(timeoutMs)}`);
  }
  if (typeof graceMs !== 'number' || !Number.isFinite(graceMs) || graceMs < 0) {
    throw new TypeError(`${fnName}: graceMs must be a finite number >= 0, got ${String(graceMs)}`);
  }
  return { invariant, maxPoints, timeoutMs, graceMs };
}

function show(v: unknown): string {
  if (v instanceof Error) return `${v.name}: ${v.message}`;
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

function stackOf(v: unknown): string | undefined {
  if (!(v instanceof Error) || typeof v.stack !== 'string') return undefined;
  const s = userFrames(v.stack);
  return s.length > 0 ? s : undefined;
}

/** Points to explore: all of 1..n, or `max` of them spread evenly (first and last included). */
function choosePoints(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i + 1);
  const out = new Set<number>();
  for (let i = 0; i < max; i++) out.add(max === 1 ? 1 : Math.round(1 + (i * (n - 1)) / (max - 1)));
  return [...out];
}

let exploring = false;

type Proc = {
  listeners(ev: string): Array<(...a: unknown[]) => void>;
  removeAllListeners(ev: string): unknown;
  on(ev: string, fn: (...a: unknown[]) => void): unknown;
  removeListener(ev: string, fn: (...a: unknown[]) => void): unknown;
};

/**
 * Takes over the process's 'unhandledRejection' event (Node) so rejections during a run are
 * collected instead of failing whatever test the runner attributes them to. Returns the restore.
 */
function captureUnhandled(into: unknown[]): () => void {
  const proc = (globalThis as { process?: Partial<Proc> }).process;
  if (
    proc === undefined ||
    typeof proc.on !== 'function' ||
    typeof proc.listeners !== 'function' ||
    typeof proc.removeAllListeners !== 'function' ||
    typeof proc.removeListener !== 'function'
  ) {
    return () => {};
  }
  const p = proc as Proc;
  const saved = p.listeners('unhandledRejection');
  p.removeAllListeners('unhandledRejection');
  const mine = (reason: unknown): void => {
    into.push(reason);
  };
  p.on('unhandledRejection', mine);
  return () => {
    p.removeListener('unhandledRejection', mine);
    for (const l of saved) p.on('unhandledRejection', l);
  };
}

function invoke(fn: Fn, ctx: import('@ctxkit/core').Context): Promise<unknown> {
  try {
    return Promise.resolve(fn(ctx));
  } catch (e) {
    return Promise.reject(e);
  }
}

interface RunResult {
  readonly points: number;
  readonly failures: CancellationFailure[];
}

type Outcome = { how: 'resolved' } | { how: 'rejected'; error: unknown } | { how: 'timeout' };

/** One run of `fn`, cancelled at point `k` (never when k is 0). */
async function runOnce(fn: Fn, k: number, o: Resolved): Promise<RunResult> {
  const failures: CancellationFailure[] = [];
  let landing: Stack | undefined;
  const fail = (reason: string, origin?: string, error?: unknown): void => {
    const f: { -readonly [K in keyof CancellationFailure]: CancellationFailure[K] } = { point: k, reason };
    if (landing !== undefined) f.stack = formatStack(landing);
    if (origin !== undefined && origin.length > 0) f.origin = origin;
    if (error !== undefined) f.error = error;
    failures.push(f);
  };
  const rejections: unknown[] = [];
  const releaseRejections = captureUnhandled(rejections);
  let root: CancelScope | undefined;
  let tracker: Tracker | undefined;
  let unsubscribe: (() => void) | undefined;
  let points = 0;
  try {
    root = withCancel(background());
    const rootScope = root;
    const rootCtx = root.ctx;
    const t = (tracker = new Tracker({ under: rootCtx, graceMs: o.graceMs, lostCancel: false, endedWithParent: false }));
    /** Operations started on the cancelled context, not yet known to have failed fast. */
    const suspects = new Map<OperationInfo, Stack>();
    let segmentOpen = false;
    const onPoint = (): void => {
      if (segmentOpen) return;
      segmentOpen = true;
      points++;
      const here = points === k;
      if (here) landing = captureStack();
      queueMicrotask(() => {
        segmentOpen = false;
        if (here) rootScope.cancel();
      });
    };
    // Subscribed after the tracker, so the tracker has already added a new context to the tree.
    unsubscribe = subscribe({
      contextCreated(ctx, parent) {
        if (parent !== undefined && t.contains(ctx)) onPoint();
      },
      operationStarted(op) {
        if (!t.contains(op.ctx)) return;
        const err = rootCtx.err;
        if (err !== undefined && op.ctx.err === err) {
          // Suspect until the next microtask: a call that fails fast with ctx.err (core's
          // operation() does, before running anything) settles synchronously, inside this start.
          suspects.set(op, captureStack());
          queueMicrotask(() => {
            const origin = suspects.get(op);
            if (origin === undefined) return;
            suspects.delete(op);
            fail(
              `'${op.label}' started on the context after it was cancelled (the cancellation was swallowed and fn carried on)`,
              formatStack(origin),
            );
          });
        }
        onPoint();
      },
      operationSettled(op, failed, error) {
        if (failed && error === op.ctx.err) suspects.delete(op); // failed fast: it did nothing
      },
    });

    const promise = invoke(fn, rootCtx);
    const timer = realDelay(o.timeoutMs);
    const outcome: Outcome = await Promise.race([
      promise.then(
        (): Outcome => ({ how: 'resolved' }),
        (error: unknown): Outcome => ({ how: 'rejected', error }),
      ),
      timer.promise.then((): Outcome => ({ how: 'timeout' })),
    ]);
    timer.cancel();
    await turns(2); // let unhandled rejections surface
    if (outcome.how === 'timeout') {
      promise.then(undefined, () => {});
      const waiting = t.pendingWork();
      let reason = `did not settle within ${o.timeoutMs} ms${k > 0 ? ' of starting (it hangs once cancelled there)' : ''}`;
      if (waiting.length > 0) reason += `; still waiting on ${waiting.map((w) => `'${w.label}'`).join(', ')}`;
      if (getClock() !== systemClock) reason += '; note: a non-system clock is installed — is anything advancing it?';
      fail(reason, waiting[0]?.stack);
    } else if (outcome.how === 'rejected' && !isContextError(outcome.error)) {
      fail(`rejected with ${show(outcome.error)} instead of a context error`, stackOf(outcome.error), outcome.error);
    }
    if (outcome.how !== 'timeout') {
      for (const l of t.liveLeaks(rootCtx)) fail(`after fn settled, ${describeLeak(l).split('\n')[0]}`, l.stack);
    }
    rootScope.cancel();
    await t.waitForZombies();
    for (const z of t.zombieLeaks()) fail(zombieReason(z), z.stack);
  } finally {
    unsubscribe?.();
    tracker?.stop();
    root?.cancel();
    await turns(1);
    releaseRejections();
  }
  for (const r of rejections) fail(`unhandled rejection: ${show(r)}`, stackOf(r), r);
  if (o.invariant !== undefined) {
    try {
      if ((await o.invariant()) === false) fail('invariant() returned false');
    } catch (e) {
      fail(`invariant() failed: ${show(e)}`, stackOf(e), e);
    }
  }
  return { points, failures };
}

function zombieReason(z: Leak): string {
  return `'${z.label}' still running ${Math.round(z.pendingMs ?? 0)} ms after its context ended (zombie work)`;
}

/**
 * Runs `fn` once to count its cancellation points, then once per point cancelling there, and
 * reports every failing check (see the module design). Resolves with the report; rejects only
 * for bad arguments (`TypeError`) or when another exploration is running in this process (they
 * share the process's unhandled-rejection hook: run them one after the other).
 */
export async function exploreCancellation(fn: Fn, options: ExploreOptions = {}): Promise<ExploreResult> {
  const o = resolveOptions('exploreCancellation', fn, options);
  if (exploring) throw new Error('exploreCancellation: another exploration is running in this process; run them one after the other');
  exploring = true;
  try {
    const base = await runOnce(fn, 0, o);
    const failures = [...base.failures];
    const explored = choosePoints(base.points, o.maxPoints);
    const unreached: number[] = [];
    for (const k of explored) {
      const run = await runOnce(fn, k, o);
      if (run.points < k) {
        unreached.push(k);
        continue;
      }
      failures.push(...run.failures);
    }
    return { points: base.points, explored, unreached, failures };
  } finally {
    exploring = false;
  }
}

function formatFailure(f: CancellationFailure): string {
  let s = `- point ${f.point}${f.point === 0 ? ' (no cancellation)' : ''}: ${f.reason}`;
  if (f.stack !== undefined && f.stack.length > 0) s += `\n    cancelled at:\n${indent(f.stack, 8)}`;
  if (f.origin !== undefined) s += `\n    offending code:\n${indent(f.origin, 8)}`;
  return s;
}

/**
 * `exploreCancellation`, then throws a `CancellationSafetyError` listing every failure (point,
 * reason, where the cancellation landed, the offending code) — or, unless `allowNoPoints`, when
 * `fn` made no cancellation point at all (it never used ctx: nothing was explored). Resolves with
 * the report when all is well.
 */
export async function assertCancellationSafe(fn: Fn, options: ExploreOptions = {}): Promise<ExploreResult> {
  resolveOptions('assertCancellationSafe', fn, options);
  const result = await exploreCancellation(fn, options);
  if (result.points === 0 && !options.allowNoPoints) {
    throw new CancellationSafetyError(
      'assertCancellationSafe: fn made no cancellation point (no ctxkit operation started and no context created under ctx), so nothing was explored; pass allowNoPoints: true if that is expected',
      result,
    );
  }
  if (result.failures.length > 0) {
    const runs = new Set(result.failures.map((f) => f.point)).size;
    throw new CancellationSafetyError(
      `fn is not cancellation-safe: ${result.failures.length} failure${result.failures.length === 1 ? '' : 's'} in ${runs} of ${result.explored.length + 1} runs (${result.points} cancellation points)\n${result.failures.map(formatFailure).join('\n')}`,
      result,
    );
  }
  return result;
}
