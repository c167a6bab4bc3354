/**
 * The leak tracker: contexts that outlive their work, scopes whose cancel was lost, and work still
 * running after its context ended — Go's goleak and vet's lostcancel, at run time, for ctxkit.
 *
 * Rules of use:
 * - Start it before the code under test creates contexts (`trackContexts()` at the top of a test
 *   file, or `leakCheckAfterAll(after)`); check when that code should be finished
 *   (`await tracker.checkSettled()` in an after hook); `stop()` when done with it.
 * - Only contexts created and operations started after `trackContexts()` are considered.
 * - While a tracker runs, each context creation and operation start captures a stack (µs);
 *   nothing is captured when no tracker runs.
 * - Lost cancels are found by the garbage collector: `checkSettled()` forces a collection when the
 *   process runs with `--expose-gc` (global `gc`), else they appear only if the engine happened to
 *   collect the scope (and are reported as live, or never cancelled, meanwhile).
 * - A context ended only by its parent, its own scope's `cancel()` never called, is a leak too
 *   (`endedWithParent`): to tell a late `cancel()` from none, each tracked scope's `cancel` and
 *   dispose become own non-enumerable methods that note the call, then run the original.
 * - Work that settles `graceMs` or more after its context ended is recorded when it settles, so
 *   a check that runs later reports it.
 */
import {
  assertContext,
  assertKnownOptions,
  operation,
  subscribe,
  type Context,
  type ContextOrigin,
  type OperationInfo,
} from '@ctxkit/core';
import { callerSite, captureStack, formatStack, indent, type Stack } from './stacks.js';
import { nextTurn, realDelay, realNow, turns } from './runtime.js';

/** One leak found by the tracker. */
export interface Leak {
  /** Which rule was broken; the same as the `LeakReport` list it is in. */
  readonly kind: 'live' | 'lostCancel' | 'zombieWork';
  /** The context that leaked (for zombie work: the ended context the work runs under). */
  readonly ctx: Context;
  /** Where it was created (zombie work: where the work started); only the caller's frames. */
  readonly stack: string;
  /** For contexts: which constructor made it (`'cancel'`, `'timeout'`, …). */
  readonly origin?: ContextOrigin;
  /** @deprecated The same value as `origin`, under its earlier name. */
  readonly contextKind?: ContextOrigin;
  /** For zombie work: the operation's label, e.g. `'sleep'` or `'pg.query'`. */
  readonly label?: string;
  /**
   * For zombie work: real milliseconds it ran after its context ended — until now while it still
   * runs, until it settled when `settled` is true.
   */
  readonly pendingMs?: number;
  /** For zombie work: true when the work did settle, but only `pendingMs` after its context ended. */
  readonly settled?: boolean;
  /**
   * For contexts: true when the context ended only because its parent ended, its own scope's
   * `cancel()` never called — it stayed linked to its parent (and kept its timer) all that time.
   */
  readonly endedWithParent?: boolean;
}

/** Everything a tracker found, by rule. */
export interface LeakReport {
  /**
   * Cancellable contexts created since tracking began whose scope's `cancel()` was never called:
   * still live, or ended only because their parent did (`endedWithParent`). Lost cancels excluded.
   */
  readonly live: Leak[];
  /**
   * Scopes garbage-collected without `cancel()` while their context was live (or ended only
   * through its parent: `endedWithParent`).
   */
  readonly lostCancel: Leak[];
  /**
   * Operations still pending at least `graceMs` after their context ended, and operations that
   * settled later than that (`settled: true`).
   */
  readonly zombieWork: Leak[];
}

/** Options of `trackContexts`. */
export interface TrackOptions {
  /**
   * How long (real milliseconds) work may keep running after its context ended before it counts as
   * zombie work — the time a well-behaved integration needs to stop the far side. Default 100.
   */
  graceMs?: number;
  /** Capture creation stacks (default true). Without them leaks are reported without location. */
  stacks?: boolean;
  /**
   * Only consider contexts created under this one (and work started under them), e.g. the context
   * a test hands to the code under test. Default: every context.
   */
  under?: Context;
  /** Watch scopes for lost cancels with a FinalizationRegistry (default true). */
  lostCancel?: boolean;
  /**
   * Report contexts that ended only because their parent ended, their own scope's `cancel()`
   * never called (default true): such a child stayed linked to its parent — a server's context,
   * say — as long as the parent lived, even if the parent ended before the check. Turn it off
   * only for tests of cascading itself, which end parents on purpose without cancelling children.
   */
  endedWithParent?: boolean;
}

/** What `trackContexts` returns. */
export interface ContextTracker {
  /** Throws a `LeakError` listing every leak found so far with where it was created; otherwise returns. */
  check(): void;
  /** The leaks found so far (synchronous: zombies must already be past `graceMs`). */
  report(): LeakReport;
  /**
   * The thorough check for the end of a test or file: forces a garbage collection when `gc` is
   * exposed and lets finalizers run (lost cancels), waits until work under ended contexts has
   * settled or is past `graceMs` (resolving early when it settles), then `check()`. Rejects with a
   * `LeakError`.
   */
  checkSettled(): Promise<void>;
  /** Stops listening (idempotent). `report()` and `check()` still answer with what was found. */
  stop(): void;
}

/** Thrown by `check()`: its message lists every leak; `report` has them as data. */
export class LeakError extends Error {
  /** The leaks, by rule. */
  readonly report: LeakReport;
  constructor(report: LeakReport) {
    super(formatReport(report));
    this.report = report;
  }
  override get name(): string {
    return 'LeakError';
  }
}

const CTOR: Record<string, string> = {
  cancel: 'withCancel',
  timeout: 'withTimeout',
  deadline: 'withDeadline',
  signal: 'fromSignal',
};

function ctor(l: Leak): string {
  return CTOR[l.origin ?? ''] ?? String(l.origin);
}

function where(label: string, stack: string): string {
  return stack.length > 0 ? `\n   ${label} at:\n${indent(stack, 6)}` : ` (${label} at: no stack captured)`;
}

/** @internal Describes one leak on a few lines. */
export function describeLeak(l: Leak): string {
  switch (l.kind) {
    case 'live':
      return l.endedWithParent === true
        ? `never cancelled: made by ${ctor(l)}, its scope's cancel() was never called; it stayed live until its parent ended${where('created', l.stack)}`
        : `live context: made by ${ctor(l)} and never ended (its scope's cancel() was not called)${where('created', l.stack)}`;
    case 'lostCancel':
      return l.endedWithParent === true
        ? `lost cancel: the scope from ${ctor(l)} was garbage-collected without cancel(); its context stayed live until its parent ended${where('created', l.stack)}`
        : `lost cancel: the scope from ${ctor(l)} was garbage-collected without cancel() while its parent was live${where('created', l.stack)}`;
    case 'zombieWork':
      return l.settled === true
        ? `zombie work: '${l.label}' ran ${Math.round(l.pendingMs ?? 0)} ms after its context ended before it settled${where('started', l.stack)}`
        : `zombie work: '${l.label}' still running ${Math.round(l.pendingMs ?? 0)} ms after its context ended${where('started', l.stack)}`;
  }
}

function formatReport(r: LeakReport): string {
  const all = [...r.live, ...r.lostCancel, ...r.zombieWork];
  const lines = all.map((l, i) => `${i + 1}) ${describeLeak(l)}`);
  return `@ctxkit/testing: ${all.length} leak${all.length === 1 ? '' : 's'} found\n${lines.join('\n')}`;
}

interface CtxRecord {
  readonly ctx: Context;
  readonly parent: Context | undefined;
  readonly origin: ContextOrigin;
  readonly stack: Stack;
  /** The scope's `cancel()` (or its dispose, `using`) was called. */
  cancelCalled: boolean;
}

interface OpRecord {
  readonly op: OperationInfo;
  readonly stack: Stack;
  /** Real time at which we first saw its context ended, when the end event was not seen. */
  firstSeenEnded: number | undefined;
}

function checkOptions(o: TrackOptions): void {
  if (o === null || typeof o !== 'object') throw new TypeError('trackContexts: options must be an object');
  assertKnownOptions(o, ['graceMs', 'stacks', 'under', 'lostCancel', 'endedWithParent'], 'trackContexts');
  if (o.graceMs !== undefined && (typeof o.graceMs !== 'number' || !(o.graceMs >= 0) || o.graceMs === Infinity)) {
    throw new TypeError(`trackContexts: graceMs must be a finite number >= 0, got ${String(o.graceMs)}`);
  }
  if (o.under !== undefined) assertContext(o.under, 'trackContexts: options.under');
}

/** True when `rec`'s context ended through its parent (the same error object), not by itself. */
function endedWithParent(rec: CtxRecord): boolean {
  const p = rec.parent;
  const err = p?.err;
  return err !== undefined && err === rec.ctx.err;
}

const DISPOSE_KEYS: readonly symbol[] = [...(typeof Symbol.dispose === 'symbol' ? [Symbol.dispose] : []), Symbol.for('Symbol.dispose')];

/**
 * Lets the tracker see a scope's `cancel()` (and `[Symbol.dispose]`, for `using`) even once its
 * context has ended, which core's hooks cannot report: each becomes an own, non-enumerable method
 * that calls `before()` and then the original with the same `this` and arguments.
 */
function observeCancel(scope: object, before: () => void): void {
  const o = scope as Record<PropertyKey, unknown>;
  for (const key of ['cancel', ...DISPOSE_KEYS]) {
    const orig = o[key];
    if (typeof orig !== 'function') continue;
    try {
      Object.defineProperty(scope, key, {
        configurable: true,
        enumerable: false,
        writable: true,
        value: function (this: unknown, ...args: unknown[]): unknown {
          before();
          return (orig as (...a: unknown[]) => unknown).apply(this, args);
        },
      });
    } catch {
      // a frozen scope: its cancel goes unseen, and a context it let end with its parent is reported
    }
  }
}

/**
 * The tracker's machinery, shared with the explorer.
 * @internal
 */
export class Tracker implements ContextTracker {
  readonly graceMs: number;
  private readonly stacks: boolean;
  private readonly watchOrphans: boolean;
  private readonly root: Context | undefined;
  /** Contexts in the watched tree (only when `under` is given). */
  private readonly members = new WeakSet<Context>();
  /** Nearest cancellable context at or above each context we saw made (value and detached nodes map to theirs). */
  private readonly cancelerOf = new WeakMap<Context, Context | null>();
  /** Real time each context ended. */
  private readonly endedAt = new WeakMap<Context, number>();
  private readonly live = new Map<Context, CtxRecord>();
  /** Contexts that ended only because their parent did, their scope's cancel() not (yet) called. */
  private readonly orphaned = new Map<Context, CtxRecord>();
  private readonly lost: Leak[] = [];
  /** Work that settled, but `graceMs` or more after its context ended. */
  private readonly lateWork: Leak[] = [];
  private readonly ops = new Map<OperationInfo, OpRecord>();
  private readonly registry: FinalizationRegistry<CtxRecord> | undefined;
  private settledWaiter: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(options: TrackOptions = {}) {
    checkOptions(options);
    this.graceMs = options.graceMs ?? 100;
    this.stacks = options.stacks ?? true;
    this.watchOrphans = options.endedWithParent ?? true;
    this.root = options.under;
    if (this.root !== undefined) this.members.add(this.root);
    if ((options.lostCancel ?? true) && typeof FinalizationRegistry === 'function') {
      this.registry = new FinalizationRegistry<CtxRecord>((rec) => this.collected(rec));
    }
    if (this.stacks) captureStack(); // locate internal frames now, not inside the first hook
    this.unsubscribe = subscribe({
      contextCreated: (ctx, parent, origin, scope) => this.created(ctx, parent, origin, scope),
      contextEnded: (ctx) => this.ended(ctx),
      operationStarted: (op) => this.started(op),
      operationSettled: (op) => this.settled(op),
    });
  }

  /** True when `ctx` is in the watched tree. */
  contains(ctx: Context): boolean {
    return this.root === undefined || this.members.has(ctx);
  }

  private created(ctx: Context, parent: Context | undefined, origin: ContextOrigin, scope: object | undefined): void {
    if (this.root !== undefined) {
      if (parent === undefined || !this.members.has(parent)) return;
      this.members.add(ctx);
    }
    if (scope === undefined) {
      // withValue shares its parent's canceller; withoutCancel has none.
      const up = origin === 'value' && parent !== undefined ? this.cancelerOf.get(parent) : null;
      this.cancelerOf.set(ctx, up === undefined ? null : up);
      return;
    }
    this.cancelerOf.set(ctx, ctx);
    const rec: CtxRecord = { ctx, parent, origin, stack: this.stacks ? captureStack() : '', cancelCalled: false };
    this.live.set(ctx, rec);
    this.registry?.register(scope, rec, rec);
    if (this.watchOrphans) observeCancel(scope, () => this.cancelCalled(rec));
  }

  /** The scope's cancel() or dispose is about to run. */
  private cancelCalled(rec: CtxRecord): void {
    if (rec.cancelCalled) return;
    rec.cancelCalled = true;
    if (this.orphaned.delete(rec.ctx)) this.registry?.unregister(rec);
  }

  private ended(ctx: Context): void {
    this.endedAt.set(ctx, realNow());
    const rec = this.live.get(ctx);
    if (rec === undefined) return;
    this.live.delete(ctx);
    if (this.watchOrphans && !rec.cancelCalled && endedWithParent(rec)) {
      // Ended by its parent, not by its owner: still a leak unless the owner calls cancel() later
      // (as a `finally` does after the awaited work failed). Stays registered for lost cancels.
      this.orphaned.set(ctx, rec);
      return;
    }
    this.registry?.unregister(rec);
  }

  private collected(rec: CtxRecord): void {
    if (this.unsubscribe === undefined || rec.cancelCalled) return;
    const ctx = rec.ctx;
    if (this.orphaned.delete(ctx)) {
      this.lost.push({
        kind: 'lostCancel',
        ctx,
        stack: formatStack(rec.stack),
        origin: rec.origin,
        contextKind: rec.origin,
        endedWithParent: true,
      });
      return;
    }
    if (!this.live.has(ctx) || ctx.err !== undefined) return;
    if (rec.parent !== undefined && rec.parent.err !== undefined) return;
    this.live.delete(ctx);
    this.lost.push({ kind: 'lostCancel', ctx, stack: formatStack(rec.stack), origin: rec.origin, contextKind: rec.origin });
  }

  private started(op: OperationInfo): void {
    if (!this.contains(op.ctx)) return;
    this.ops.set(op, { op, stack: this.stacks ? captureStack() : '', firstSeenEnded: undefined });
  }

  private settled(op: OperationInfo): void {
    const rec = this.ops.get(op);
    if (rec === undefined) return;
    this.ops.delete(op);
    const now = realNow();
    const t = this.endTime(rec, now);
    // At least 1 ms: work that settles inside the cancel() that ended its context is not late.
    if (t !== undefined && now - t >= Math.max(this.graceMs, 1)) {
      this.lateWork.push({
        kind: 'zombieWork',
        ctx: op.ctx,
        stack: formatStack(rec.stack),
        label: op.label,
        pendingMs: now - t,
        settled: true,
      });
    }
    const w = this.settledWaiter;
    if (w !== undefined) {
      this.settledWaiter = undefined;
      w();
    }
  }

  /** Real time `ctx` ended, or undefined while live. */
  private endTime(rec: OpRecord, now: number): number | undefined {
    const ctx = rec.op.ctx;
    if (ctx.err === undefined) return undefined;
    const c = this.cancelerOf.get(ctx);
    const t = this.endedAt.get(ctx) ?? (c ? this.endedAt.get(c) : undefined);
    if (t !== undefined) return t;
    return (rec.firstSeenEnded ??= now);
  }

  /** Operations pending under ended contexts: those past the grace period, and when the next one will be. */
  private zombies(now: number): { leaks: Leak[]; nextDueIn: number | undefined } {
    const leaks: Leak[] = [];
    let nextDueIn: number | undefined;
    for (const rec of this.ops.values()) {
      const t = this.endTime(rec, now);
      if (t === undefined) continue;
      const age = now - t;
      if (age >= this.graceMs) {
        leaks.push({ kind: 'zombieWork', ctx: rec.op.ctx, stack: formatStack(rec.stack), label: rec.op.label, pendingMs: age });
      } else {
        const due = this.graceMs - age;
        if (nextDueIn === undefined || due < nextDueIn) nextDueIn = due;
      }
    }
    return { leaks, nextDueIn };
  }

  /** Contexts still live, excluding `except` (the explorer's own root). */
  liveLeaks(except?: Context): Leak[] {
    const out: Leak[] = [];
    for (const rec of this.live.values()) {
      if (rec.ctx === except || rec.ctx.err !== undefined) continue;
      out.push({ kind: 'live', ctx: rec.ctx, stack: formatStack(rec.stack), origin: rec.origin, contextKind: rec.origin });
    }
    return out;
  }

  /** Contexts that ended only because their parent did, their scope's cancel() never called. */
  orphanLeaks(): Leak[] {
    return [...this.orphaned.values()].map((rec) => ({
      kind: 'live',
      ctx: rec.ctx,
      stack: formatStack(rec.stack),
      origin: rec.origin,
      contextKind: rec.origin,
      endedWithParent: true,
    }));
  }

  /** Work in the watched tree still pending (live context or not): label and where it started. */
  pendingWork(): Array<{ label: string; stack: string }> {
    return [...this.ops.values()].map((r) => ({ label: r.op.label, stack: formatStack(r.stack) }));
  }

  /** Zombie work: still pending past the grace period now, or settled only after it. */
  zombieLeaks(): Leak[] {
    return [...this.lateWork, ...this.zombies(realNow()).leaks];
  }

  /**
   * Resolves once no work under an ended context is younger than the grace period: early when such
   * work settles, at the latest when the youngest passes `graceMs`.
   */
  async waitForZombies(): Promise<void> {
    for (;;) {
      const { nextDueIn } = this.zombies(realNow());
      if (nextDueIn === undefined) return;
      const delay = realDelay(Math.ceil(nextDueIn) + 1);
      const settledOne = new Promise<void>((resolve) => {
        this.settledWaiter = resolve;
      });
      await Promise.race([delay.promise, settledOne]);
      delay.cancel();
      this.settledWaiter = undefined;
      await nextTurn();
    }
  }

  /** Forces a collection when `gc` is exposed and lets finalization callbacks run. */
  async collect(): Promise<void> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (typeof gc !== 'function' || this.registry === undefined) return;
    for (let i = 0; i < 2; i++) {
      await nextTurn();
      gc();
      await turns(2);
    }
  }

  report(): LeakReport {
    return { live: [...this.liveLeaks(), ...this.orphanLeaks()], lostCancel: [...this.lost], zombieWork: this.zombieLeaks() };
  }

  check(): void {
    const r = this.report();
    if (r.live.length + r.lostCancel.length + r.zombieWork.length > 0) throw new LeakError(r);
  }

  async checkSettled(): Promise<void> {
    await this.collect();
    await this.waitForZombies();
    this.check();
  }

  stop(): void {
    const u = this.unsubscribe;
    if (u === undefined) return;
    this.unsubscribe = undefined;
    u();
  }
}

/**
 * Starts tracking contexts and ctxkit operations; see the module rules. Returns the tracker: call
 * `check()`/`await checkSettled()` when the code under test should have cleaned up, and `stop()`
 * when done. Throws `TypeError` for bad options.
 */
export function trackContexts(options: TrackOptions = {}): ContextTracker {
  return new Tracker(options);
}

/**
 * The one-line leak check for a test file: starts a tracker now and registers `await
 * tracker.checkSettled()` (then `stop()`) with `after` — pass your framework's after-all hook:
 * node:test's `after`, Vitest's or Jest's `afterAll`. Call it at the top level of the file. It
 * finds the same leaks whichever after-all hooks run before it (a scope never cancelled is
 * reported still live, or ended only with its parent); registered after the hooks that shut down
 * long-lived contexts, it also sees the work they stop. The hook is registered as if from the
 * caller's line, so a runner that names a failing after-all hook after where it was registered
 * (node:test) names the caller's test file. Returns the tracker; throws `TypeError` when `after`
 * is not a function or an option is bad.
 */
export function leakCheckAfterAll(after: (fn: () => Promise<void>) => unknown, options?: TrackOptions): ContextTracker {
  if (typeof after !== 'function') {
    throw new TypeError("leakCheckAfterAll: pass your test framework's after-all hook (node:test `after`, Vitest/Jest `afterAll`)");
  }
  const site = callerSite(leakCheckAfterAll);
  const tracker = new Tracker(options);
  registerAt(site, after, async () => {
    try {
      await tracker.checkSettled();
    } finally {
      tracker.stop();
    }
  });
  return tracker;
}

type Register = (after: (fn: () => Promise<void>) => unknown, hook: () => Promise<void>) => unknown;

/**
 * Calls `after(hook)` from a function that the engine places at `site` — the user's call of
 * `leakCheckAfterAll` — so that a runner which names a failing after-all hook after the file and
 * line that registered it (node:test does) names the user's test file, not this module. Falls back
 * to a plain call where code cannot be made from a string.
 */
function registerAt(site: ReturnType<typeof callerSite>, after: (fn: () => Promise<void>) => unknown, hook: () => Promise<void>): unknown {
  let register: Register | undefined;
  if (site !== undefined && !/[\r\n\u2028\u2029]/.test(site.file)) {
    // new Function's body starts on line 3 of its source; the call goes on line `site.line`.
    const lead = '\n'.repeat(Math.max(0, site.line - 4));
    const body = `${lead}return (\n${' '.repeat(Math.max(0, site.col - 1))}after(hook));\n//# sourceURL=${site.file}`;
    try {
      register = new Function('after', 'hook', body) as Register;
    } catch {
      register = undefined; // code generation from strings is disallowed here
    }
  }
  return register !== undefined ? register(after, hook) : after(hook);
}

/**
 * Reports `promise` as work labelled `label` running under `ctx`, as an operation of core's
 * `operation()` (the one primitive every ctxkit call is written on), so leak checks see it as
 * zombie work if it is still pending after `ctx` ended, and the explorer counts it as a point.
 * Returns a promise that settles like `promise` (a rejection you leave unhandled still surfaces as
 * an unhandled rejection), with `operation()`'s rules:
 * - when `ctx` has already ended it fails fast: it rejects with `ctx.err` at once and does not
 *   wait for `promise` (the work you started anyway is yours to stop);
 * - when `ctx` ends first it cannot stop the work, so it waits for it: a value the work still
 *   delivers is returned, an error it delivers becomes `ctx.err`.
 * Throws `TypeError` for a non-Context `ctx` or a non-string `label`.
 */
export function track<T>(ctx: Context, promise: PromiseLike<T> | T, label: string): Promise<T> {
  assertContext(ctx, 'track: ctx');
  if (typeof label !== 'string') throw new TypeError(`track: label must be a string, got ${typeof label}`);
  return operation<T>(ctx, label, (settle) => {
    const work = Promise.resolve(promise);
    settle.resolve(work);
    return () => work; // on cancel: wait for the work, so it is seen running on past its context
  });
}
