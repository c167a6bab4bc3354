/**
 * The context tree: Go's `context` for TypeScript.
 *
 * Rules of use (the same as Go's, adapted):
 * - Functions that do I/O take `ctx: Context` as their first parameter and pass it on. Do not
 *   store a context in a struct-like object that outlives the operation.
 * - Whoever calls `withCancel`/`withTimeout`/`withDeadline`/`fromSignal` owns the returned scope
 *   and must call `scope.cancel()` (or `using scope = …`) as soon as the work it covers is done,
 *   on every path. Until then the child stays linked to its parent; once ended it is unlinked at
 *   once, so a long-lived parent never accumulates dead children.
 * - Cancellation flows down, never up: ending a context ends all its descendants before
 *   `cancel()` returns, and never affects its parent.
 * - `ctx.err` is `undefined` while the context is live and then, forever, the same
 *   `CanceledError` or `DeadlineExceededError`. `cause(ctx)` says why.
 * - Values are for request-scoped data, keyed by `createKey` keys.
 * - Never pass `undefined` as a context: use `todo()` when unsure which to use.
 */
import { describeValue } from './describe.js';
import { CanceledError, DeadlineExceededError, isDeadlineExceeded, type ContextError } from './errors.js';
import { Key } from './key.js';
import { getClock } from './clock.js';
import { addEntry, removeEntry, type DeadlineEntry } from './deadline-queue.js';
import { emitCreated, emitEnded, hooksActive, type ContextOrigin } from './hooks.js';

/**
 * A context carries a cancellation signal, a deadline and request-scoped values across API
 * boundaries. It is read-only: only the `CancelScope` that made it can end it.
 */
export interface Context {
  /** The effective deadline (epoch ms): the earliest of this context's and its ancestors'; `undefined` when none. */
  readonly deadline: number | undefined;
  /** `undefined` while live; then always the same `CanceledError` or `DeadlineExceededError`. */
  readonly err: ContextError | undefined;
  /**
   * An `AbortSignal` that aborts once, when this context ends, with `reason === ctx.err`. Made
   * on first access and the same object afterwards. Give it to platform APIs (`fetch`, streams,
   * `timers/promises`) so they stop when the context ends.
   */
  readonly signal: AbortSignal;
  /** Resolves (never rejects) when this context ends. Made on first access; the same promise afterwards. */
  readonly done: Promise<void>;
  /** The value of the nearest context on the chain that holds `key`, else the key's default. */
  value<T>(key: Key<T>): T | undefined;
  /** Throws `ctx.err` when this context has ended; otherwise does nothing. */
  throwIfDone(): void;
}

/**
 * Owns a cancellable context. The owner must call `cancel()` when the work is done (or use
 * `using scope = withCancel(parent)`), on every path: until then the context stays linked to its
 * parent and any timer stays queued.
 */
export interface CancelScope extends Disposable {
  /** The context this scope ends. */
  readonly ctx: Context;
  /**
   * Ends `ctx` and all its descendants before returning. Idempotent: the first call (or the
   * deadline, or the parent) wins and later causes are ignored. `cause` (optional) is what
   * `cause(ctx)` returns and becomes `ctx.err.cause`.
   */
  cancel(cause?: unknown): void;
}

/** Why a context ended, as passed to `end()`: a cancel (explicit or a parent's) or a deadline. */
const END_CANCELED = 0;
const END_DEADLINE = 1;
/** `NodeExtras.flags` bits, meaningful on the node that ended. */
const FLAG_DEADLINE = 1;
const FLAG_HAS_CAUSE = 2;

/**
 * The parts of a cancellable node that most nodes never need: why it ended, the lazily made
 * signal and done promise, its own deadline's cause and heap position, the signal listener of
 * `fromSignal`, and its observers (`afterFunc`, core's internal `onEnd`). Kept apart so a plain
 * `withCancel` child stays small: a 100k fan-out is dominated by what its bytes cost the garbage
 * collector.
 */
class NodeExtras implements DeadlineEntry {
  /** FLAG_* bits, set on the node that ended. */
  flags = 0;
  cause: unknown = undefined;
  err: ContextError | undefined = undefined;
  ac: AbortController | undefined = undefined;
  donePromise: Promise<void> | undefined = undefined;
  resolveDone: (() => void) | undefined = undefined;
  deadlineCause: unknown = undefined;
  detach: (() => void) | undefined = undefined;
  /** Observers, oldest first (a doubly linked list through the observers' own links). */
  obsHead: Observer | undefined = undefined;
  obsTail: Observer | undefined = undefined;
  /**
   * The node's own deadline, kept only when earlier than the inherited one (and kept after the
   * node ends). The shared deadline heap holds extras and orders them by it.
   */
  _deadline: number | undefined = undefined;
  /** Position in the shared deadline heap; -1 when not queued. */
  _heapIndex = -1;

  constructor(readonly node: CancelNode) {}

  /** Deadline queue callback: the node's own deadline has passed. */
  _expire(): void {
    const c = this.deadlineCause;
    end(this.node, END_DEADLINE, c, c !== undefined);
  }
}

/** The node's extras, made on first use. */
function extras(n: CancelNode): NodeExtras {
  let x = n._x;
  if (x === undefined) x = n._x = new NodeExtras(n);
  return x;
}

let neverSignal: AbortSignal | undefined;
const neverDone: Promise<void> = new Promise<void>(() => {});

/** Base of every context; holds the value chain. @internal */
export abstract class BaseContext implements Context {
  /** @internal Parent on the value chain; undefined for roots. */
  readonly _parent: BaseContext | undefined;
  /**
   * @internal The nearest cancellable node at or above this one; undefined when this context never
   * ends. A cancellable node is linked into its parent's `_canceler`'s child list while live.
   */
  readonly _canceler: CancelNode | undefined;

  constructor(parent: BaseContext | undefined, canceler: CancelNode | undefined) {
    this._parent = parent;
    this._canceler = canceler;
  }

  get deadline(): number | undefined {
    return this._canceler?.deadline;
  }

  get err(): ContextError | undefined {
    return this._canceler?.err;
  }

  get signal(): AbortSignal {
    const c = this._canceler;
    if (c !== undefined) return c.signal;
    return (neverSignal ??= new AbortController().signal);
  }

  get done(): Promise<void> {
    const c = this._canceler;
    return c === undefined ? neverDone : c.done;
  }

  value<T>(key: Key<T>): T | undefined {
    if (!(key instanceof Key)) throw new TypeError('ctx.value: key must be made by createKey()');
    for (let n: BaseContext | undefined = this; n !== undefined; n = n._parent) {
      if (n instanceof ValueNode && n._key === key) return n._value as T;
    }
    return key.defaultValue;
  }

  throwIfDone(): void {
    const e = this.err;
    if (e !== undefined) throw e;
  }
}

class RootContext extends BaseContext {
  constructor(private readonly _name: string) {
    super(undefined, undefined);
  }
  override toString(): string {
    return this._name;
  }
}

/**
 * A cancellable context. Live children form an intrusive doubly linked list (`_head`, siblings via
 * `_prev`/`_next`; a new child goes first), so linking and unlinking allocate nothing and a child
 * needs no pointer to its list's owner: that is `_parent._canceler`. Five own fields plus the two
 * of the value chain (80 bytes on x64: below that size a 100k fan-out is far cheaper for the
 * garbage collector, as docs/BENCHMARKS.md shows); everything rarer lives in `_x`, even the
 * deadline.
 * @internal
 */
export class CancelNode extends BaseContext {
  _prev: CancelNode | undefined = undefined;
  _next: CancelNode | undefined = undefined;
  /** First live child; undefined when none (and always once ended). */
  _head: CancelNode | undefined = undefined;
  /** The node whose ending ended this one (itself or an ancestor); undefined while live. */
  _endedBy: CancelNode | undefined = undefined;
  /** Rarely needed state, allocated on first use so that a plain child stays small. */
  _x: NodeExtras | undefined = undefined;

  constructor(parent: BaseContext) {
    super(parent, undefined);
    (this as { _canceler: CancelNode })._canceler = this;
  }

  /**
   * The nearest own deadline on the way up: a node keeps its own deadline (in its extras) only
   * when it is earlier than the one it inherits, so the first found is the effective one. Not
   * stored per node — every plain child would pay 8 bytes for it.
   */
  override get deadline(): number | undefined {
    for (let c: CancelNode | undefined = this; c !== undefined; c = c._parent!._canceler) {
      const x = c._x;
      if (x !== undefined && x._deadline !== undefined) return x._deadline;
    }
    return undefined;
  }

  override get err(): ContextError | undefined {
    const s = this._endedBy;
    if (s === undefined) return undefined;
    const x = extras(s);
    return (x.err ??= makeError(s));
  }

  override get signal(): AbortSignal {
    const x = extras(this);
    let ac = x.ac;
    if (ac === undefined) {
      ac = x.ac = new AbortController();
      if (this._endedBy !== undefined) ac.abort(this.err);
    }
    return ac.signal;
  }

  override get done(): Promise<void> {
    const x = extras(this);
    let p = x.donePromise;
    if (p === undefined) {
      p = x.donePromise =
        this._endedBy !== undefined
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              x.resolveDone = resolve;
            });
    }
    return p;
  }

  /**
   * Phase two of ending: tell the outside world — the `fromSignal` listener goes, the signal
   * aborts, `done` resolves, then the observers in the order they were attached. Runs after the
   * whole subtree is marked.
   */
  _notify(): void {
    const x = this._x;
    if (x !== undefined) {
      const detach = x.detach;
      if (detach !== undefined) {
        x.detach = undefined;
        detach();
      }
      if (x.ac !== undefined) x.ac.abort(this.err);
      const resolve = x.resolveDone;
      if (resolve !== undefined) {
        x.resolveDone = undefined;
        resolve();
      }
      let ob = x.obsHead;
      x.obsHead = x.obsTail = undefined;
      while (ob !== undefined) {
        const following: Observer | undefined = ob._next;
        ob._owner = ob._prev = ob._next = undefined;
        ob._notify();
        ob = following;
      }
    }
    if (hooksActive) emitEnded(this);
  }

  override toString(): string {
    return `Context(${this._endedBy === undefined ? 'live' : String(this.err)})`;
  }
}

/** True when the node that ended was given a cause (kept in its extras). */
function hasOwnCause(s: CancelNode): boolean {
  return ((s._x?.flags ?? 0) & FLAG_HAS_CAUSE) !== 0;
}

function makeError(s: CancelNode): ContextError {
  const opts = hasOwnCause(s) ? { cause: s._x!.cause } : undefined;
  return ((s._x?.flags ?? 0) & FLAG_DEADLINE) !== 0 ? new DeadlineExceededError(undefined, opts) : new CanceledError(undefined, opts);
}

class ValueNode extends BaseContext {
  constructor(
    parent: BaseContext,
    readonly _key: Key<unknown>,
    readonly _value: unknown,
  ) {
    super(parent, parent._canceler);
  }
}

class DetachedNode extends BaseContext {
  constructor(parent: BaseContext) {
    super(parent, undefined);
  }
}

const OBS_ARMED = 0;
const OBS_SCHEDULED = 1;
const OBS_DONE = 2;

/**
 * A callback attached to a live node (in its extras' observer list). `sync` observers are
 * core-internal and run during phase two of ending; the others (afterFunc) are scheduled on a
 * microtask, never inside `cancel()`.
 * @internal
 */
export class Observer {
  _owner: CancelNode | undefined = undefined;
  _prev: Observer | undefined = undefined;
  _next: Observer | undefined = undefined;
  _state = OBS_ARMED;
  constructor(
    readonly _fn: () => void,
    readonly _sync: boolean,
  ) {}

  _notify(): void {
    if (this._state !== OBS_ARMED) return;
    if (this._sync) {
      this._state = OBS_DONE;
      this._fire();
    } else {
      this._state = OBS_SCHEDULED;
      queueMicrotask(() => this._run());
    }
  }

  /** Runs the callback of a sync observer; subclasses (core's operations) run their own. */
  _fire(): void {
    this._fn();
  }

  _run(): void {
    if (this._state !== OBS_SCHEDULED) return;
    this._state = OBS_DONE;
    this._fn();
  }

  /** True if this call prevented the callback from running. */
  _stop(): boolean {
    if (this._state === OBS_DONE) return false;
    if (this._state === OBS_ARMED) detachObserver(this);
    this._state = OBS_DONE;
    return true;
  }
}

/** Links a new live child first in its owner's child list. */
function linkChild(owner: CancelNode, n: CancelNode): void {
  const head = owner._head;
  if (head !== undefined) {
    head._prev = n;
    n._next = head;
  }
  owner._head = n;
}

/** Takes `n` out of its owner's child list if it is in it (a node born ended never was). */
function unlinkChild(n: CancelNode): void {
  const owner = n._parent!._canceler;
  if (owner === undefined) return;
  const prev = n._prev;
  const next = n._next;
  if (prev === undefined) {
    if (owner._head !== n) return; // not linked
    owner._head = next;
  } else {
    prev._next = next;
  }
  if (next !== undefined) next._prev = prev;
  n._prev = n._next = undefined;
}

function attachObserver(owner: CancelNode, ob: Observer): void {
  const x = extras(owner);
  ob._owner = owner;
  const tail = x.obsTail;
  if (tail === undefined) {
    x.obsHead = x.obsTail = ob;
  } else {
    tail._next = ob;
    ob._prev = tail;
    x.obsTail = ob;
  }
}

function detachObserver(ob: Observer): void {
  const owner = ob._owner;
  if (owner === undefined) return;
  const x = owner._x!;
  const prev = ob._prev;
  const next = ob._next;
  if (prev === undefined) x.obsHead = next;
  else prev._next = next;
  if (next === undefined) x.obsTail = prev;
  else next._prev = prev;
  ob._owner = ob._prev = ob._next = undefined;
}

/**
 * Ends `src` and its whole subtree. Phase one marks every descendant ended and unlinks it,
 * without allocation or recursion (depth is unbounded): nodes whose children are still to be
 * visited form a stack through their free `_prev` links, and nodes that someone observes (or
 * that the hooks report) are chained through their free `_next` links, parents before children.
 * Phase two notifies that chain, so user code (abort listeners) only ever sees a fully
 * consistent tree.
 */
function end(src: CancelNode, reason: number, cause: unknown, hasCause: boolean): void {
  if (src._endedBy !== undefined) return;
  if (reason === END_DEADLINE || hasCause) {
    const x = extras(src);
    x.flags = (reason === END_DEADLINE ? FLAG_DEADLINE : 0) | (hasCause ? FLAG_HAS_CAUSE : 0);
    if (hasCause) x.cause = cause;
  }
  unlinkChild(src);
  const track = hooksActive;
  src._endedBy = src;
  let notifyHead: CancelNode | undefined;
  let notifyTail: CancelNode | undefined;
  const sx = src._x;
  if (sx !== undefined && sx._heapIndex >= 0) removeEntry(sx);
  if (sx !== undefined || track) notifyHead = notifyTail = src;
  let stack: CancelNode | undefined = src._head !== undefined ? src : undefined;
  while (stack !== undefined) {
    const p: CancelNode = stack;
    stack = p._prev;
    p._prev = undefined;
    let c = p._head;
    p._head = undefined;
    while (c !== undefined) {
      const sibling: CancelNode | undefined = c._next;
      c._endedBy = src;
      c._next = undefined;
      if (c._head !== undefined) {
        c._prev = stack; // its children are visited later
        stack = c;
      } else {
        c._prev = undefined;
      }
      const x = c._x;
      if (x !== undefined || track) {
        if (x !== undefined && x._heapIndex >= 0) removeEntry(x);
        if (notifyTail === undefined) notifyHead = c;
        else notifyTail._next = c;
        notifyTail = c;
      }
      c = sibling;
    }
  }
  for (let m = notifyHead; m !== undefined; ) {
    const following: CancelNode | undefined = m._next;
    m._next = undefined;
    m._notify();
    m = following;
  }
}

/**
 * Throws a `TypeError` unless `value` is a Context made by this library. `what` names the
 * argument for the message, e.g. `'ctxFetch: ctx'` or `'withCancel: parent'`: the one message every
 * ctxkit package gives for a missing or foreign context. Returns nothing; use it as a guard at the
 * top of any function that takes a context.
 */
export function assertContext(value: unknown, what: string): asserts value is Context {
  if (!(value instanceof BaseContext)) {
    throw new TypeError(`${what} must be a Context from @ctxkit/core (use background() at the top), got ${describeValue(value)}`);
  }
}

function checkParent(parent: unknown, fn: string): asserts parent is BaseContext {
  assertContext(parent, `${fn}: parent`);
}

/** `Symbol.dispose`, or the well-known fallback polyfills use on runtimes that lack it. */
const DISPOSE: typeof Symbol.dispose = Symbol.dispose ?? (Symbol.for('Symbol.dispose') as typeof Symbol.dispose);

class Scope implements CancelScope {
  constructor(readonly ctx: CancelNode) {}
  cancel(cause?: unknown): void {
    end(this.ctx, END_CANCELED, cause, cause !== undefined);
  }
  [DISPOSE](): void {
    end(this.ctx, END_CANCELED, undefined, false);
  }
}

/**
 * Makes a cancellable child. `ownDeadline` (epoch ms) is applied when earlier than the parent's.
 * @internal Shared by every constructor of cancellable contexts.
 */
export function newScope(parent: BaseContext, origin: ContextOrigin, ownDeadline: number | undefined, deadlineCause: unknown): CancelScope {
  const owner = parent._canceler;
  const node = new CancelNode(parent);
  let useOwn = false;
  if (ownDeadline !== undefined) {
    const inherited = owner?.deadline;
    if (inherited === undefined || ownDeadline < inherited) {
      useOwn = true;
      const x = extras(node);
      x._deadline = ownDeadline;
      if (deadlineCause !== undefined) x.deadlineCause = deadlineCause;
    }
  }
  const scope = new Scope(node);
  if (hooksActive) {
    emitCreated(node, parent, origin, scope);
    if (node._endedBy !== undefined) return scope; // a hook ended it
  }
  if (owner !== undefined && owner._endedBy !== undefined) {
    node._endedBy = owner._endedBy;
    if (hooksActive) emitEnded(node);
    return scope;
  }
  if (useOwn) {
    if ((ownDeadline as number) <= getClock().now()) {
      end(node, END_DEADLINE, deadlineCause, deadlineCause !== undefined);
      return scope;
    }
    addEntry(node._x!);
  }
  if (owner !== undefined) linkChild(owner, node);
  return scope;
}

const background_ = new RootContext('background()');
const todo_ = new RootContext('todo()');

/**
 * One live instance of each class a request allocates, kept for the life of the process. V8
 * reaches an object's final hidden class through transitions that only live objects keep alive:
 * once every instance has died — an idle service between bursts — the next full GC drops those
 * classes and deoptimises all code compiled against them, so the first requests after every pause
 * run unoptimised. Measured (bench/http.bench.ts, 1-second bursts): node:http with
 * `contextFromRequest` at ~80 % of bare req/s without these anchors, ~98 % with them.
 */
const classAnchors: readonly object[] = makeClassAnchors();

/**
 * @internal Reads `classAnchors`, which keeps them in the module's scope for good (a module-level
 * constant that no function reads may be dropped once the module has run).
 */
export function classAnchorCount(): number {
  return classAnchors.length;
}

function makeClassAnchors(): object[] {
  const node = new CancelNode(background_);
  const x = extras(node);
  x._deadline = Date.now() + 0.5; // a number beyond the small-integer range, as real deadlines
  x.flags = FLAG_DEADLINE | FLAG_HAS_CAUSE;
  x.cause = node;
  const ob = new Observer(() => {}, true);
  const value = new ValueNode(node, Key.make('ctxkit class anchor', undefined), node);
  return [node, x, new Scope(node), ob, value, new DetachedNode(value)];
}

/**
 * The root of every context tree: never ends, has no deadline and no values; its signal never
 * aborts. Use it at the top of `main`, in tests, and for process-lifetime work.
 */
export function background(): Context {
  return background_;
}

/**
 * Like `background()` (never ends), but says "which context belongs here is not decided yet".
 * Linters and reviewers can search for it.
 */
export function todo(): Context {
  return todo_;
}

/** A child of `parent` that ends when `scope.cancel()` is called or `parent` ends. */
export function withCancel(parent: Context): CancelScope {
  checkParent(parent, 'withCancel');
  return newScope(parent, 'cancel', undefined, undefined);
}

/**
 * A child that also ends `ms` milliseconds from now with `DeadlineExceededError` (whose cause,
 * and `cause(ctx)`, is `cause` when given). The effective deadline is the earlier of this and the
 * parent's; no timer is queued when the parent's is earlier. `ms <= 0` gives a context born
 * ended; `Infinity` adds no deadline; NaN or a non-number throws `TypeError`. The caller must
 * still call `scope.cancel()` when done.
 */
export function withTimeout(parent: Context, ms: number, cause?: unknown): CancelScope {
  checkParent(parent, 'withTimeout');
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    throw new TypeError(`withTimeout: ms must be a number of milliseconds, got ${describeValue(ms)}`);
  }
  const deadline = ms === Infinity ? undefined : getClock().now() + ms;
  return newScope(parent, 'timeout', deadline, cause);
}

/**
 * A child that also ends at `deadline` (epoch ms or a `Date`) with `DeadlineExceededError`.
 * Same rules as `withTimeout`: a past deadline gives a context born ended, `Infinity` none; an
 * invalid `Date`, NaN or a non-number throws `TypeError`.
 */
export function withDeadline(parent: Context, deadline: number | Date, cause?: unknown): CancelScope {
  checkParent(parent, 'withDeadline');
  let at: number;
  if (deadline instanceof Date) {
    at = deadline.getTime();
    if (Number.isNaN(at)) throw new TypeError('withDeadline: deadline is an invalid Date');
  } else if (typeof deadline === 'number' && !Number.isNaN(deadline)) {
    at = deadline;
  } else {
    throw new TypeError(`withDeadline: deadline must be epoch milliseconds or a Date, got ${describeValue(deadline)}`);
  }
  return newScope(parent, 'deadline', at === Infinity ? undefined : at, cause);
}

/**
 * A child that ends when `signal` aborts (cause = `signal.reason`; a `TimeoutError` reason gives
 * `DeadlineExceededError`, any other `CanceledError`) or when the scope is cancelled or `parent`
 * ends — whichever is first. Its listener on `signal` is removed as soon as it ends. Use it to
 * bring a framework's `AbortSignal` into a context tree.
 */
export function fromSignal(parent: Context, signal: AbortSignal): CancelScope {
  checkParent(parent, 'fromSignal');
  if (
    signal === null ||
    typeof signal !== 'object' ||
    typeof signal.addEventListener !== 'function' ||
    typeof signal.aborted !== 'boolean'
  ) {
    throw new TypeError(`fromSignal: signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  const scope = newScope(parent, 'signal', undefined, undefined);
  const node = scope.ctx as CancelNode;
  if (node._endedBy !== undefined) return scope;
  const abortFrom = (): void => {
    const reason: unknown = signal.reason;
    end(node, isDeadlineExceeded(reason) ? END_DEADLINE : END_CANCELED, reason, true);
  };
  if (signal.aborted) {
    abortFrom();
    return scope;
  }
  signal.addEventListener('abort', abortFrom, { once: true });
  extras(node).detach = () => signal.removeEventListener('abort', abortFrom);
  return scope;
}

/**
 * A child carrying `value` under `key` (made by `createKey`; anything else throws `TypeError`).
 * It ends exactly when `parent` ends; it has no scope and needs no cancel.
 */
export function withValue<T>(parent: Context, key: Key<T>, value: T): Context {
  checkParent(parent, 'withValue');
  if (!(key instanceof Key)) throw new TypeError('withValue: key must be made by createKey()');
  const ctx = new ValueNode(parent, key as Key<unknown>, value);
  if (hooksActive) emitCreated(ctx, parent, 'value', undefined);
  return ctx;
}

/**
 * A context with `parent`'s values that never ends and has no deadline (`cause` is undefined).
 * For cleanup that must run although the request was cancelled (rollback, ack, compensation):
 * give it its own short timeout, `withTimeout(withoutCancel(ctx), 5000)`.
 */
export function withoutCancel(parent: Context): Context {
  checkParent(parent, 'withoutCancel');
  const ctx = new DetachedNode(parent);
  if (hooksActive) emitCreated(ctx, parent, 'withoutCancel', undefined);
  return ctx;
}

/**
 * Why `ctx` ended: the cause given to `cancel(cause)` (or to `withTimeout`/`withDeadline` when the
 * deadline fired, or the signal's reason for `fromSignal`); a context ended by an ancestor reports
 * the ancestor's cause; with no cause given, `ctx.err` itself. `undefined` while live.
 */
export function cause(ctx: Context): unknown {
  checkParent(ctx, 'cause');
  const c = ctx._canceler;
  const s = c?._endedBy;
  if (s === undefined) return undefined;
  return hasOwnCause(s) ? s._x!.cause : c!.err;
}

/** Milliseconds until `ctx`'s deadline (0 once passed); `Infinity` when it has none. */
export function remaining(ctx: Context): number {
  checkParent(ctx, 'remaining');
  const d = ctx.deadline;
  if (d === undefined) return Infinity;
  return Math.max(0, d - getClock().now());
}

/**
 * Arranges for `fn` to run once after `ctx` ends — on a microtask, never synchronously inside
 * `cancel()`; right away (on a microtask) if it already ended. Returns `stop()`, which returns
 * true only if it prevented `fn` from running. An exception thrown by `fn` is not swallowed: it
 * surfaces as an uncaught exception. On a context that never ends, `fn` never runs.
 */
export function afterFunc(ctx: Context, fn: () => void): () => boolean {
  checkParent(ctx, 'afterFunc');
  if (typeof fn !== 'function') throw new TypeError(`afterFunc: fn must be a function, got ${describeValue(fn)}`);
  const ob = new Observer(fn, false);
  attach(ctx, ob);
  return () => ob._stop();
}

/**
 * Core-internal: runs `fn` synchronously during phase two of ending (or at once when already
 * ended). Returns the observer for `_stop()`, or undefined when `ctx` never ends.
 * @internal
 */
export function onEnd(ctx: BaseContext, fn: () => void): Observer | undefined {
  const c = ctx._canceler;
  if (c === undefined) return undefined;
  const ob = new Observer(fn, true);
  attach(ctx, ob);
  return ob;
}

/**
 * Core-internal: attaches `ob` to the nearest cancellable node of `ctx` (notified at once when it
 * has already ended; never when `ctx` never ends).
 * @internal
 */
export function attach(ctx: BaseContext, ob: Observer): void {
  const c = ctx._canceler;
  if (c === undefined) return;
  if (c._endedBy !== undefined) ob._notify();
  else attachObserver(c, ob);
}

/** @internal Backs `linkedChildren` in @ctxkit/core/diagnostics. */
export function linkedCount(ctx: Context): number {
  checkParent(ctx, 'linkedCount');
  const c = ctx._canceler;
  if (c === undefined) return 0;
  let k = 0;
  for (let n = c._head; n !== undefined; n = n._next) k++;
  for (let o = c._x?.obsHead; o !== undefined; o = o._next) k++;
  return k;
}

/** True when `v` is a context made by this library. */
export function isContext(v: unknown): v is Context {
  return v instanceof BaseContext;
}
