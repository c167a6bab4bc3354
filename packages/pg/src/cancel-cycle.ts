/**
 * The cancel cycle of one running statement whose context ended — what makes "cancel means the
 * far side stops" true without ever hitting a later statement:
 *
 * 1. a CancelRequest goes to the server over a separate connection (cancel-request.ts);
 * 2. the cycle waits until both the statement has settled and the server has closed the cancel
 *    connection (from then on the cancel signal cannot land on a later statement). PostgreSQL
 *    drops a signal that reaches a backend which has not started the statement yet (the query
 *    message still on its way, or still in this process's socket buffer). So while the
 *    statement has not settled, each time a request is over the cycle sends another one after a
 *    pause (`RESEND_PAUSES_MS`: 25, 100, then 400 ms; at most four requests in all, and only
 *    while the pause ends inside the `cleanupTimeoutMs` window, which bounds each request too).
 *    Never two at a time, never one once the statement has settled: every request sent is over
 *    before step 3;
 * 3. once the client is idle, an empty statement (the probe) checks that the backend answers
 *    and refreshes the transaction status;
 * 4. the cycle is over: the statement queue (lane.ts) starts the next statement and the caller
 *    gets `ctx.err`.
 *
 * Whenever the connection cannot be trusted any more — no cancel key, a request the server did
 * not confirm, a connection failure, no answer within `cleanupTimeoutMs` — the cycle breaks the
 * lane (`Lane.markBroken`, which destroys the connection through its holder) and ends.
 */
import type { ClientBase } from 'pg';
import { getClock, asError } from '@ctxkit/core';
import { cancelTargetOf, sendCancelRequest, type CancelOutcome, type CancelTarget } from './cancel-request.js';
import { isConnectionFailure } from './errors.js';
import { whenIdle } from './idle.js';

/** What a cycle needs of its statement queue. */
export interface CycleHost {
  readonly client: ClientBase;
  readonly broken: Error | undefined;
  /** Marks the connection unusable and destroys it (first reason wins). */
  markBroken(err: Error): void;
}

/**
 * The pauses before re-sending a CancelRequest (module comment, step 2), each counted from the
 * moment the previous request is over while the statement has still not settled; one entry per
 * re-send, so at most `1 + RESEND_PAUSES_MS.length` requests per cancel.
 *
 * Why these: a signal that did reach the running statement stops it at the backend's next
 * interrupt check (usually well under a millisecond) and its error needs one trip back, so 25 ms
 * lets that answer arrive on loopback and same-site links before anything is re-sent: in the
 * common case no second request is made. A dropped signal (the statement was not there yet)
 * thus costs about 25 ms plus one request, instead of the whole `cleanupTimeoutMs` and the
 * connection. Quadrupling covers a query message that travels longer (a slow or distant link, a
 * loaded server) and a backend slow to act on the signal, without hammering the server's
 * postmaster (each request makes it fork): ~0.5 s of pauses in all, a tenth of the default
 * `cleanupTimeoutMs`; after that the wait is bounded by `cleanupTimeoutMs`, as before.
 */
const RESEND_PAUSES_MS: readonly number[] = [25, 100, 400];

/** The combined outcome of a job's cancel requests: any 'unknown' wins, then any 'delivered'. */
function combine(a: CancelOutcome | undefined, b: CancelOutcome): CancelOutcome {
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  return a === 'delivered' || b === 'delivered' ? 'delivered' : 'not-sent';
}

/** The cancel requests of one cycle (made only when a cancel is sent). */
class CancelRequests {
  /** How many were sent. */
  sent = 0;
  /** Whether one is sent and not over yet (at most one at a time). */
  inFlight = false;
  /** The pause before the next one, while it runs. */
  timer: unknown = undefined;
  constructor(
    readonly target: CancelTarget,
    readonly processId: number,
    readonly secretKey: number,
    /** End of the cycle's `cleanupTimeoutMs` window (clock time): no request outlives it. */
    readonly until: number,
  ) {}
}

const CANCELLING = 0;
const PROBING = 1;
const OVER = 2;

/**
 * @internal One cancel cycle (module comment). `start()` sends the first request; the queue
 * reports the statement's end with `statementSettled(err)`; `onOver` runs exactly once, when the
 * cycle is over (the lane is broken then if the connection must not be reused).
 */
export class CancelCycle {
  private phase = CANCELLING;
  private settled = false;
  private error: unknown = undefined;
  /** The combined outcome of the cancel requests over so far (see `combine`). */
  private outcome: CancelOutcome | undefined = undefined;
  private requests: CancelRequests | undefined = undefined;
  private timer: unknown = undefined;

  constructor(
    private readonly host: CycleHost,
    private readonly cleanupTimeoutMs: number,
    private readonly onOver: () => void,
  ) {}

  start(): void {
    const clock = getClock();
    this.timer = clock.setTimer(() => this.overdue(), this.cleanupTimeoutMs, false);
    const c = this.host.client as { processID?: unknown; secretKey?: unknown };
    const target = cancelTargetOf(this.host.client);
    if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number' || target === undefined) {
      // No way to reach the backend's cancel key: closing the connection is the only way to stop it.
      this.outcome = 'not-sent';
      this.host.markBroken(
        new Error('@ctxkit/pg: no backend key data to send a cancel request; the connection was closed to stop the statement'),
      );
      return;
    }
    const r = new CancelRequests(target, c.processID, c.secretKey, clock.now() + this.cleanupTimeoutMs);
    this.requests = r;
    this.send(r, this.cleanupTimeoutMs);
  }

  /** The cancelled statement (or a step of its job) settled, with `err` or not. */
  statementSettled(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.error = err;
    this.stopResending(); // a request still in flight is waited for (progress)
    this.progress();
  }

  /**
   * Sends one cancel request (none other in flight), over within `timeoutMs`. Once it is over
   * and the statement has still not settled, the next one is scheduled (module comment, step 2).
   */
  private send(r: CancelRequests, timeoutMs: number): void {
    r.sent++;
    r.inFlight = true;
    sendCancelRequest(r.target, r.processId, r.secretKey, timeoutMs, (outcome) => {
      r.inFlight = false;
      this.outcome = combine(this.outcome, outcome);
      if (this.phase === CANCELLING && !this.settled) this.scheduleResend(r);
      this.progress();
    });
  }

  /** Arms the pause before the next request, if one is left and it ends inside the window. */
  private scheduleResend(r: CancelRequests): void {
    const pause = RESEND_PAUSES_MS[r.sent - 1];
    if (pause === undefined) return;
    const clock = getClock();
    if (clock.now() + pause >= r.until) return;
    r.timer = clock.setTimer(
      () => {
        r.timer = undefined;
        if (this.phase !== CANCELLING || this.settled || r.inFlight) return;
        const left = r.until - clock.now();
        if (left > 0) this.send(r, left);
      },
      pause,
      false,
    );
  }

  /** No more cancel requests (one in flight, if any, still runs to its end). */
  private stopResending(): void {
    const r = this.requests;
    if (r === undefined || r.timer === undefined) return;
    getClock().clearTimer(r.timer);
    r.timer = undefined;
  }

  /** Step 2 → 3, once both the statement and every cancel request sent for it are over. */
  private progress(): void {
    if (this.phase !== CANCELLING || !this.settled || this.outcome === undefined || this.requests?.inFlight === true) return;
    const host = this.host;
    const clock = getClock();
    clock.clearTimer(this.timer);
    if (this.outcome === 'unknown') {
      host.markBroken(
        new Error(
          '@ctxkit/pg: the server did not confirm a cancel request; the connection was closed so the cancel cannot hit a later statement',
        ),
      );
    }
    if (this.error !== undefined && isConnectionFailure(this.error, host.client)) host.markBroken(asError(this.error));
    if (host.broken !== undefined) return this.over();
    this.phase = PROBING;
    let answered = false;
    const timer = clock.setTimer(
      () => {
        if (answered) return;
        answered = true;
        host.markBroken(new Error('@ctxkit/pg: the connection did not answer a health check after a cancel; it was closed'));
        this.over();
      },
      this.cleanupTimeoutMs,
      false,
    );
    const fail = (err: unknown): void => {
      if (answered) return;
      answered = true;
      clock.clearTimer(timer);
      host.markBroken(asError(err));
      this.over();
    };
    // The cancelled statement's error arrives before its ReadyForQuery: probe once it is idle.
    whenIdle(host.client, this.cleanupTimeoutMs, (idleErr) => {
      if (answered) return;
      if (idleErr !== undefined) return fail(idleErr);
      try {
        host.client.query('', (err: unknown) => {
          if (err) return fail(err);
          if (answered) return;
          answered = true;
          clock.clearTimer(timer);
          this.over();
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  private overdue(): void {
    if (this.phase !== CANCELLING) return;
    this.host.markBroken(
      new Error(`@ctxkit/pg: a cancelled statement did not stop within ${this.cleanupTimeoutMs} ms; the connection was closed`),
    );
    this.over();
  }

  private over(): void {
    if (this.phase === OVER) return;
    this.phase = OVER;
    this.stopResending();
    this.onOver();
  }
}
