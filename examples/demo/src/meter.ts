/**
 * The measuring harness (not part of either twin's design): records when each client left, every
 * piece of work the services did for it, and which timers were created on its behalf — so the
 * report can say how much was done for clients that were already gone. Both twins are measured
 * identically: the harness wraps their handlers; the handlers only time their own steps.
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Where a piece of work ran. */
export type Where = 'front' | 'back' | 'dependency';

/** One timed piece of work done for request `id`. */
export interface Segment {
  readonly id: string;
  readonly where: Where;
  /**
   * 'step' = local slow work, 'call' = a downstream HTTP call (whole exchange), 'query' = an SQL
   * statement (client side), 'serve' = the
   * dependency answering, 'handler' = a whole request handler from entry to return.
   */
  readonly kind: 'step' | 'call' | 'query' | 'serve' | 'handler';
  readonly label: string;
  readonly start: number;
  readonly end: number;
  /** True when the work ran to completion (not stopped early). */
  readonly completed: boolean;
}

/** A request handler as the twins write them. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** The correlation id every hop forwards (the harness's, not part of either design). */
export const ID_HEADER = 'x-demo-id';

/** The request id carried by `req`, or '?' when absent. */
export function requestId(req: IncomingMessage): string {
  const v = req.headers[ID_HEADER];
  return typeof v === 'string' ? v : '?';
}

interface TimerResource {
  hasRef?(): boolean;
}

/** Records client departures, work segments, handlers and timers in flight. */
export class Meter {
  /** performance.now() at which the client of each abandoned request destroyed its socket. */
  readonly abandonedAt = new Map<string, number>();
  /** performance.now() at which the back service saw its caller hang up before the answer was sent, per request id. */
  readonly backHungUpAt = new Map<string, number>();
  readonly segments: Segment[] = [];
  private handlers = 0;
  private readonly liveHandlers = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];
  private readonly als = new AsyncLocalStorage<string>();
  private readonly timers = new Map<number, { id: string; resource: TimerResource }>();
  private readonly hook = createHook({
    init: (asyncId, type, _trigger, resource) => {
      if (type !== 'Timeout') return;
      const id = this.als.getStore();
      if (id !== undefined) this.timers.set(asyncId, { id, resource: resource as TimerResource });
    },
    destroy: (asyncId) => {
      this.timers.delete(asyncId);
    },
  });

  /** Starts attributing timers to requests; call `close()` when done. */
  constructor() {
    this.hook.enable();
  }

  /** Stops the timer attribution hook. */
  close(): void {
    this.hook.disable();
    this.timers.clear();
  }

  /** Now, in the harness's time base (ms, monotonic). */
  now(): number {
    return performance.now();
  }

  /** The load generator's client for `id` has just given up. */
  clientLeft(id: string): void {
    if (!this.abandonedAt.has(id)) this.abandonedAt.set(id, this.now());
  }

  /**
   * Runs the body of one service handler for request `id`: counts it in flight, records its whole
   * lifetime as a 'handler' segment, and attributes the timers it creates (directly or through
   * libraries) to the request. Call it first thing inside a route handler.
   */
  handle<T>(where: Where, id: string, body: () => Promise<T>): Promise<T> {
    const start = this.now();
    const finished = this.handlerStarted(id);
    return this.als.run(id, async () => {
      let completed = false;
      try {
        const v = await body();
        completed = true;
        return v;
      } finally {
        this.segments.push({ id, where, kind: 'handler', label: 'handler', start, end: this.now(), completed });
        finished();
      }
    });
  }

  /** A node:http listener running `handler` under `handle(where, requestId(req), …)`. */
  instrument(where: Where, handler: Handler): (req: IncomingMessage, res: ServerResponse) => void {
    return (req, res) => {
      this.handle(where, requestId(req), async () => handler(req, res)).catch(() => {});
    };
  }

  /**
   * The back service's listener, recording in `backHungUpAt` when its caller (the front) hangs
   * up before the answer is complete. The harness's own view: neither twin's code is changed.
   */
  watchBack(listener: RequestListener): RequestListener {
    return (req, res) => {
      res.on('close', () => {
        if (!res.writableFinished && !this.backHungUpAt.has(requestId(req))) this.backHungUpAt.set(requestId(req), this.now());
      });
      listener(req, res);
    };
  }

  /** Times `run()` as a step/call of request `id`; `completed` is whether it resolved. */
  async track<T>(id: string, where: Where, kind: Segment['kind'], label: string, run: () => Promise<T>): Promise<T> {
    const start = this.now();
    let completed = false;
    try {
      const v = await run();
      completed = true;
      return v;
    } finally {
      this.segments.push({ id, where, kind, label, start, end: this.now(), completed });
    }
  }

  /** Records a segment whose start and end the caller measured (the dependency server). */
  record(seg: Segment): void {
    this.segments.push(seg);
  }

  /** Counts a handler for `id` in flight; call the returned function once when it is done. */
  handlerStarted(id: string): () => void {
    this.handlers++;
    this.liveHandlers.set(id, (this.liveHandlers.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.handlers--;
      const n = (this.liveHandlers.get(id) ?? 1) - 1;
      if (n === 0) this.liveHandlers.delete(id);
      else this.liveHandlers.set(id, n);
      if (this.handlers === 0) {
        const ws = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of ws) w();
      }
    };
  }

  /** True when the client of `id` left more than `graceMs` ago. */
  private goneFor(id: string, graceMs: number, now: number): boolean {
    const left = this.abandonedAt.get(id);
    return left !== undefined && now - left > graceMs;
  }

  /** Handlers running right now for clients that left more than `graceMs` ago. */
  zombieHandlers(graceMs: number): number {
    const now = this.now();
    let n = 0;
    for (const [id, k] of this.liveHandlers) if (this.goneFor(id, graceMs, now)) n += k;
    return n;
  }

  /** Pending timers (ones that keep the process alive) created for clients that left more than `graceMs` ago. */
  zombieTimers(graceMs: number): number {
    const now = this.now();
    let n = 0;
    for (const t of this.timers.values()) {
      if (t.resource.hasRef?.() !== false && this.goneFor(t.id, graceMs, now)) n++;
    }
    return n;
  }

  /** Pending timers (that keep the process alive) created for any request. */
  requestTimers(): number {
    let n = 0;
    for (const t of this.timers.values()) if (t.resource.hasRef?.() !== false) n++;
    return n;
  }

  /** Resolves true once no handler runs, or false after `capMs` (the demo never waits unbounded). */
  whenIdle(capMs: number): Promise<boolean> {
    if (this.handlers === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== onIdle);
        resolve(false);
      }, capMs);
      const onIdle = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      this.idleWaiters.push(onIdle);
    });
  }
}

/** Milliseconds of `seg` that fell after `t` (0 when it ended before). */
export function msAfter(seg: Segment, t: number): number {
  return Math.max(0, seg.end - Math.max(seg.start, t));
}
