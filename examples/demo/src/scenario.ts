/**
 * The scenario: run the same load against the naive twin and the ctxkit twin (one after the
 * other, in this process, over loopback) and measure what each did for clients that had left.
 */
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { subscribe, type ContextKind } from '@ctxkit/core';
import { wrapPool } from '@ctxkit/pg';
import { DbProbe, openDatabase } from './db.js';
import { Meter, msAfter } from './meter.js';
import { listen, type Running } from './servers.js';
import { workPlan } from './plan.js';
import { runLoad, type LoadResult } from './load.js';
import { dependencyHandler, type BudgetLog } from './dependency.js';
import { naiveBack, naiveFront } from './naive.js';
import { ctxkitBack, ctxkitFront } from './ctxkit.js';
import type { Env } from './env.js';

/** Which twin to run. */
export type Twin = 'naive' | 'ctxkit';

/** Size and shape of a run. Defaults: the `npm start` run. */
export interface ScenarioOptions {
  requests?: number;
  concurrency?: number;
  /** Share of clients that give up mid-request. */
  abandonRate?: number;
  seed?: number;
  /**
   * Grace for a disconnect to travel over loopback: the "load end" snapshot is taken this long
   * after the last client is done, and a handler or timer counts as a zombie once its client has
   * been gone for longer than this.
   */
  settleMs?: number;
  /** Upper bound on waiting for zombie work to finish after the load (the demo never hangs). */
  drainCapMs?: number;
  /** Sampling period for the peak figures. */
  sampleMs?: number;
  /** Run both twins once at a small size first, so lazy module loading and JIT do not land in the heap figures. */
  warmup?: boolean;
  /**
   * PostgreSQL for the back service's statement: a connection string; `false` for none (a timer
   * stands in); 'embedded' to start a throwaway server; undefined to find one (DATABASE_URL,
   * else 127.0.0.1:5432, else an embedded server).
   */
  database?: string | false;
  /** Connections in the back service's pool. */
  poolSize?: number;
  /** Lines from finding or starting PostgreSQL (stderr in the CLI). */
  log?: (line: string) => void;
  /** What the run is doing now, for a progress display (stderr in the CLI). */
  progress?: (p: Progress) => void;
}

/**
 * One step of a scenario run, in order: 'database' (finding or starting PostgreSQL), 'warmup'
 * (both twins once at a small size), then per twin 'load' (once with done = 0, then each time a
 * client is done), 'drain' (the load is over; waiting for the twin's handlers to return) and
 * 'done' (its figures are in; `ms` = wall time of the twin's run).
 */
export type Progress =
  | { readonly phase: 'database' }
  | { readonly phase: 'warmup'; readonly requests: number }
  | { readonly phase: 'load'; readonly twin: Twin; readonly done: number; readonly total: number }
  | { readonly phase: 'drain'; readonly twin: Twin }
  | { readonly phase: 'done'; readonly twin: Twin; readonly ms: number };

const DEFAULTS: Required<ScenarioOptions> = {
  requests: 200,
  concurrency: 40,
  abandonRate: 0.35,
  seed: 42,
  settleMs: 100,
  drainCapMs: 8000,
  sampleMs: 20,
  warmup: true,
  database: false,
  poolSize: 16,
  log: () => {},
  progress: () => {},
};

/** Everything measured for one twin. Times in milliseconds, heap in bytes. */
export interface TwinReport extends LoadResult {
  readonly twin: Twin;
  /** Wall time of the load (first request to last client done). */
  readonly loadMs: number;
  /** Time to a full answer for the clients that waited: median and 95th percentile. */
  readonly answerP50Ms: number | undefined;
  readonly answerP95Ms: number | undefined;
  /** Time front and back handlers kept running after their request's client had left. */
  readonly handlerMsAfterLeft: number;
  /** Front + back step time (the slow work itself) spent after the request's client had left. */
  readonly workAfterLeftMs: number;
  /** Front + back steps that began when the request's client had been gone for over `settleMs`. */
  readonly stepsStartedAfterLeft: number;
  /** Downstream calls (front→back, back→dependency) that ran to a full answer after the client had left. */
  readonly callsCompletedAfterLeft: number;
  /** Time the slow dependency spent serving requests whose client had left. */
  readonly dependencyMsAfterLeft: number;
  /** Dependency requests answered in full although the client had left. */
  readonly dependencyAnsweredForGone: number;
  /** Budgets the dependency received (ms), median; undefined when none was sent. */
  readonly dependencyBudgetMedianMs: number | undefined;
  /** Peak, over the run, of handlers (all three services) running for clients gone for over `settleMs`. */
  readonly peakZombieHandlers: number;
  /** Peak, over the run, of pending timers created for clients gone for over `settleMs`. */
  readonly peakZombieTimers: number;
  /** Handlers still running for clients gone for over `settleMs`, at the load-end snapshot. */
  readonly zombieHandlersAtLoadEnd: number;
  /** Pending timers created for clients gone for over `settleMs`, at the load-end snapshot. */
  readonly zombieTimersAtLoadEnd: number;
  /** Heap used at the load-end snapshot (after GC when available) minus the baseline taken before the servers started. */
  readonly heapAtLoadEndBytes: number;
  /** Heap used (after GC when available) minus the baseline, just before the middle request is sent. */
  readonly heapMidRunBytes: number;
  /** Handlers working for clients gone for over `settleMs` at that same moment. */
  readonly zombieHandlersMidRun: number;
  /** Whether `global.gc` was available for the heap figures. */
  readonly gcExposed: boolean;
  /**
   * TCP sockets open in the process at the load-end snapshot: both ends of every connection
   * between load, front, back and dependency (all in this process), the pool's and the probe's.
   */
  readonly socketsAtLoadEnd: number;
  /** Cancellable contexts alive at the load-end snapshot (ctxkit only; undefined for naive). */
  readonly liveContextsAtLoadEnd: number | undefined;
  /** How long after the load ended the last piece of work for a gone client finished. */
  readonly zombieTailMs: number;
  /** After draining: true when every handler had returned within `drainCapMs`. */
  readonly drained: boolean;
  /** After draining: cancellable contexts still alive (ctxkit only). */
  readonly liveContextsAtEnd: number | undefined;
  /** After draining: operations (sleep, race, …) still in flight (ctxkit only). */
  readonly opsInFlightAtEnd: number | undefined;
  /** After draining: pending timers created for any request. */
  readonly timersAtEnd: number;
  /** Database figures; undefined when the run had no database. */
  readonly db: DbReport | undefined;
}

/** What PostgreSQL did for one twin, seen from the server (pg_stat_activity) and the client. */
export interface DbReport {
  /** Server time statements kept running after their client had left (sampled every `sampleMs`). */
  readonly msAfterLeft: number;
  /** Statements that returned a full result after their client had left. */
  readonly completedForGone: number;
  /** Of those, how many returned before the back service saw its caller hang up (or it never did). */
  readonly completedForGoneBeforeHangUp: number;
  /** The longest time between a client leaving and its statement returning a full result; undefined when none did. */
  readonly completedForGoneMaxMs: number | undefined;
  /** Peak of statements running in the server for clients gone for over `settleMs`. */
  readonly peakZombieStatements: number;
  /** Statements of this twin still running in the server at the load-end snapshot. */
  readonly activeAtLoadEnd: number;
  /** After draining: statements of this twin still running in the server. */
  readonly activeAtEnd: number;
}

/** Both twins of one run, and the options used. */
export interface ScenarioReport {
  readonly options: Required<ScenarioOptions>;
  /** Where the database came from ('DATABASE_URL', 'local', 'embedded'), or why there was none. */
  readonly database: { readonly source: string } | { readonly missing: string };
  readonly naive: TwinReport;
  readonly ctxkit: TwinReport;
}

const CANCELLABLE: ReadonlySet<ContextKind> = new Set(['cancel', 'timeout', 'deadline', 'signal']);

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** TCP sockets open in this process (node's active resources). */
function openSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

function percentile(xs: readonly number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

/** Runs the load against one twin and measures it. Starts and stops its own three servers. */
export async function runTwin(twin: Twin, options: ScenarioOptions = {}): Promise<TwinReport> {
  const o = { ...DEFAULTS, ...options };
  const meter = new Meter();
  const env: Env = { meter, plan: (id) => workPlan(o.seed, Number(id)) };
  const budgets: BudgetLog = [];

  // Context accounting through core's lifecycle hooks (what the leak tracker and inspector use).
  let liveContexts = 0;
  let opsInFlight = 0;
  const unsubscribe =
    twin === 'ctxkit'
      ? subscribe({
          contextCreated: (_c, _p, kind) => {
            if (CANCELLABLE.has(kind)) liveContexts++;
          },
          contextEnded: () => {
            liveContexts--;
          },
          operationStarted: () => {
            opsInFlight++;
          },
          operationSettled: () => {
            opsInFlight--;
          },
        })
      : () => {};

  const heap0 = heapUsed();
  const servers: Running[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  const pool = o.database ? new pg.Pool({ connectionString: o.database, max: o.poolSize, idleTimeoutMillis: 0 }) : undefined;
  pool?.on('error', () => {}); // an idle connection dropped by the server must not crash the demo
  const probe = o.database ? new DbProbe(o.database, twin, meter, o.settleMs) : undefined;
  try {
    await probe?.start(o.sampleMs);
    const dependency = await listen(meter.instrument('dependency', dependencyHandler(meter, budgets)));
    servers.push(dependency);
    const back = await listen(
      meter.watchBack(twin === 'naive' ? naiveBack(env, dependency.url, pool) : ctxkitBack(env, dependency.url, pool && wrapPool(pool))),
    );
    servers.push(back);
    const front = await listen(twin === 'naive' ? naiveFront(env, back.url) : ctxkitFront(env, back.url));
    servers.push(front);

    let heapMidRunBytes = 0;
    let zombieHandlersMidRun = 0;
    let peakZombieHandlers = 0;
    let peakZombieTimers = 0;
    const sample = (): void => {
      peakZombieHandlers = Math.max(peakZombieHandlers, meter.zombieHandlers(o.settleMs));
      peakZombieTimers = Math.max(peakZombieTimers, meter.zombieTimers(o.settleMs));
    };
    sampler = setInterval(sample, o.sampleMs);

    const t0 = meter.now();
    o.progress({ phase: 'load', twin, done: 0, total: o.requests });
    const load = await runLoad({
      url: front.url,
      requests: o.requests,
      concurrency: o.concurrency,
      seed: o.seed,
      abandonRate: o.abandonRate,
      patienceMs: 10_000,
      meter,
      afterDone: (done) => o.progress({ phase: 'load', twin, done, total: o.requests }),
      beforeSend: (i) => {
        if (i === Math.floor(o.requests / 2)) {
          heapMidRunBytes = heapUsed() - heap0;
          zombieHandlersMidRun = meter.zombieHandlers(o.settleMs);
        }
      },
    });
    const loadEnd = meter.now();
    o.progress({ phase: 'drain', twin });
    // A measurement point, not synchronization: the snapshot is defined as "settleMs after the
    // last client finished", long enough on loopback for socket closes to reach every service.
    await delay(o.settleMs);
    sample();
    clearInterval(sampler);
    sampler = undefined;
    const zombieHandlersAtLoadEnd = meter.zombieHandlers(o.settleMs);
    const zombieTimersAtLoadEnd = meter.zombieTimers(o.settleMs);
    const liveContextsAtLoadEnd = twin === 'ctxkit' ? liveContexts : undefined;
    const socketsAtLoadEnd = openSockets();
    const dbActiveAtLoadEnd = await probe?.activeNow();
    const heapAtLoadEndBytes = heapUsed() - heap0;

    const drained = await meter.whenIdle(o.drainCapMs);
    // async_hooks reports a fired timer's destruction from the event loop, after its callback.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));

    let handlerMsAfterLeft = 0;
    let workAfterLeftMs = 0;
    let stepsStartedAfterLeft = 0;
    let callsCompletedAfterLeft = 0;
    let dependencyMsAfterLeft = 0;
    let dependencyAnsweredForGone = 0;
    let queriesCompletedForGone = 0;
    let queriesCompletedBeforeHangUp = 0;
    let queryCompletedMaxMs: number | undefined;
    let lastZombieEnd = loadEnd;
    for (const s of meter.segments) {
      const left = meter.abandonedAt.get(s.id);
      if (left === undefined) continue;
      const after = msAfter(s, left);
      if (s.end > left) lastZombieEnd = Math.max(lastZombieEnd, s.end);
      switch (s.kind) {
        case 'handler':
          if (s.where !== 'dependency') handlerMsAfterLeft += after;
          break;
        case 'serve':
          dependencyMsAfterLeft += after;
          if (s.completed && s.end > left) dependencyAnsweredForGone++;
          break;
        case 'step':
          workAfterLeftMs += after;
          if (s.start > left + o.settleMs) stepsStartedAfterLeft++;
          break;
        case 'call':
          if (s.completed && s.end > left) callsCompletedAfterLeft++;
          break;
        case 'query':
          if (s.completed && s.end > left) {
            queriesCompletedForGone++;
            if (s.end <= (meter.backHungUpAt.get(s.id) ?? Number.POSITIVE_INFINITY)) queriesCompletedBeforeHangUp++;
            queryCompletedMaxMs = Math.max(queryCompletedMaxMs ?? 0, s.end - left);
          }
          break;
      }
    }

    o.progress({ phase: 'done', twin, ms: meter.now() - t0 });
    return {
      twin,
      ...load,
      loadMs: loadEnd - t0,
      handlerMsAfterLeft,
      workAfterLeftMs,
      stepsStartedAfterLeft,
      callsCompletedAfterLeft,
      dependencyMsAfterLeft,
      dependencyAnsweredForGone,
      dependencyBudgetMedianMs: percentile(
        budgets.filter((b): b is number => b !== undefined),
        50,
      ),
      answerP50Ms: percentile(load.latencies, 50),
      answerP95Ms: percentile(load.latencies, 95),
      peakZombieHandlers,
      peakZombieTimers,
      zombieHandlersAtLoadEnd,
      zombieTimersAtLoadEnd,
      heapAtLoadEndBytes,
      heapMidRunBytes,
      zombieHandlersMidRun,
      gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function',
      liveContextsAtLoadEnd,
      socketsAtLoadEnd,
      zombieTailMs: Math.max(0, lastZombieEnd - loadEnd),
      drained,
      liveContextsAtEnd: twin === 'ctxkit' ? liveContexts : undefined,
      opsInFlightAtEnd: twin === 'ctxkit' ? opsInFlight : undefined,
      timersAtEnd: meter.requestTimers(),
      db: probe
        ? {
            msAfterLeft: probe.msAfterLeft(),
            completedForGone: queriesCompletedForGone,
            completedForGoneBeforeHangUp: queriesCompletedBeforeHangUp,
            completedForGoneMaxMs: queryCompletedMaxMs,
            peakZombieStatements: probe.peakZombieStatements,
            activeAtLoadEnd: dbActiveAtLoadEnd ?? 0,
            activeAtEnd: await probe.activeNow(),
          }
        : undefined,
    };
  } finally {
    if (sampler !== undefined) clearInterval(sampler);
    for (const s of servers.reverse()) await s.close();
    await probe?.stop();
    await pool?.end();
    unsubscribe();
    meter.close();
  }
}

/**
 * Runs the naive twin, then the ctxkit twin, with the same seed and load. With `database`
 * undefined it finds or starts PostgreSQL (and stops what it started); when none can be had, the
 * run goes on without one and the report says why.
 */
export async function runScenario(options: ScenarioOptions = {}): Promise<ScenarioReport> {
  const o = { ...DEFAULTS, ...options };
  let database: ScenarioReport['database'] = { missing: 'disabled' };
  let stop = async (): Promise<void> => {};
  if (options.database === undefined || options.database === 'embedded') {
    o.progress({ phase: 'database' });
    const found = await openDatabase(options.database === 'embedded' ? 'embedded' : 'auto', o.log);
    if (found.db) {
      o.database = found.db.connectionString;
      database = { source: found.db.source };
      stop = () => found.db!.stop();
    } else {
      database = { missing: found.why ?? 'unknown' };
    }
  } else if (options.database) {
    database = { source: 'given' };
  }
  try {
    if (o.warmup) {
      // Same concurrency (connection pools, buffers and maps grow to their working size), fewer requests.
      const small = { ...o, requests: Math.min(o.requests, o.concurrency), drainCapMs: 3000, progress: () => {} };
      o.progress({ phase: 'warmup', requests: small.requests });
      await runTwin('naive', small);
      await runTwin('ctxkit', small);
    }
    const naive = await runTwin('naive', o);
    const ctxkit = await runTwin('ctxkit', o);
    return { options: o, database, naive, ctxkit };
  } finally {
    await stop();
  }
}
