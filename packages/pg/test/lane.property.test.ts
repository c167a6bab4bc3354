// The one-statement-at-a-time lane under random interleavings, against fake servers that model
// PostgreSQL's cancel semantics: a CancelRequest arrives on its own connection, the server signals
// the backend after a delay (PostgreSQL forks for it) and only then closes that connection; the
// signal kills whatever statement runs at that moment, and is dropped when the backend is idle.
// First test (real timers, a real TCP cancel listener): a cancel only ever stops the statement it
// was meant for; every other statement returns its own result; each caller gets exactly one
// outcome. Second test (manual clock, scripted cancel connections): the re-sent cancel requests of
// cancel-cycle.ts (PostgreSQL drops a cancel that reaches the backend before the statement does), under
// every interleaving of the statement's arrival and end with slow, failing and unconfirmed
// requests. No PostgreSQL needed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import { background, getClock, withCancel, type CancelScope } from '@ctxkit/core';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { wrapClient } from '@ctxkit/pg';

// Simulated cancel paths are slow on purpose (fork delays, lost cancels), on the manual clock.
leakCheckAfterAll(after, { graceMs: 2_000 });

interface Running {
  id: string;
  cb: (err: unknown, res?: unknown) => void;
  timer: NodeJS.Timeout;
}

/** A fake pg client with one backend: statements 'SLEEP <ms> <id>' and '' (empty). */
class FakeBackend {
  readonly processID = 4242;
  readonly secretKey = 777;
  readonly host = '127.0.0.1';
  port = 0;
  running: Running | undefined;
  busy = 0;
  maxBusy = 0;
  /** Ids of statements a cancel signal stopped. */
  killed: string[] = [];
  ended = false;
  forkDelayMs = 0;

  query(text: string, values: unknown, cb?: (err: unknown, res?: unknown) => void): void {
    const done = typeof values === 'function' ? (values as typeof cb)! : cb!;
    if (this.busy > 0) throw new Error('fake: a statement was sent while another one runs');
    const [, ms, id] = /^SLEEP (\d+) (\S+)$/.exec(text) ?? [undefined, '0', ''];
    this.busy++;
    this.maxBusy = Math.max(this.maxBusy, this.busy);
    const finish = (err: unknown, res?: unknown): void => {
      this.running = undefined;
      this.busy--;
      setImmediate(() => done(err, res)); // the answer travels back
    };
    const timer = setTimeout(() => finish(undefined, { rows: [{ id }], command: 'SELECT' }), Number(ms));
    this.running = { id: id!, cb: finish, timer };
  }

  /** The server side of a CancelRequest: signal (after the fork delay), then close. */
  signal(pid: number, key: number): void {
    const r = this.running;
    if (pid !== this.processID || key !== this.secretKey || r === undefined) return; // idle: dropped
    clearTimeout(r.timer);
    this.killed.push(r.id);
    r.cb(Object.assign(new Error('canceling statement due to user request'), { code: '57014', severity: 'ERROR' }));
  }

  getTransactionStatus(): 'I' {
    return 'I';
  }

  end(): Promise<void> {
    this.ended = true;
    return Promise.resolve();
  }
}

const backend = new FakeBackend();
let server: net.Server;

before(async () => {
  server = net.createServer((socket) => {
    socket.once('data', (buf) => {
      const pid = buf.readInt32BE(8);
      const key = buf.readInt32BE(12);
      setTimeout(() => {
        backend.signal(pid, key);
        socket.end();
      }, backend.forkDelayMs);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend.port = (server.address() as net.AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a cancel never stops any statement but its own (random interleavings)', async () => {
  const client = wrapClient(backend as never, { serverTimeout: false });
  const statement = fc.record({
    ms: fc.integer({ min: 0, max: 4 }),
    cancelAfterMs: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(statement, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4 }), async (plan, forkDelayMs) => {
      backend.forkDelayMs = forkDelayMs;
      backend.killed = [];
      const scopes: CancelScope[] = [];
      const settled: boolean[] = [];
      const cancelledEarly: boolean[] = [];
      const outcomes = plan.map((s, i) => {
        const scope = withCancel(background());
        scopes.push(scope);
        settled.push(false);
        cancelledEarly.push(false);
        const p = client.query(scope.ctx, `SLEEP ${s.ms} s${i}`).then(
          (r) => ({ ok: true as const, id: (r.rows[0] as { id: string }).id }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        void p.then(() => {
          settled[i] = true;
        });
        if (s.cancelAfterMs !== undefined) {
          setTimeout(() => {
            if (!settled[i]) cancelledEarly[i] = true;
            scope.cancel();
          }, s.cancelAfterMs);
        }
        return p;
      });
      const results = await Promise.all(outcomes);
      // Let every scheduled cancel fire before judging (a cancel after settlement changes nothing).
      await new Promise((r) => setTimeout(r, 10));
      for (const s of scopes) s.cancel();
      results.forEach((r, i) => {
        if (cancelledEarly[i]) {
          assert.ok(!r.ok && r.e === scopes[i]!.ctx.err, `statement ${i} was cancelled before it settled: must reject with its ctx.err`);
        } else if (r.ok) {
          assert.equal(r.id, `s${i}`, `statement ${i} got another statement's result`);
        } else {
          assert.fail(`statement ${i} was never cancelled before it settled but failed: ${String(r.e)}`);
        }
      });
      for (const id of backend.killed) {
        const i = Number(id.slice(1));
        assert.ok(plan[i]!.cancelAfterMs !== undefined, `the cancel of another statement stopped ${id}`);
      }
      assert.equal(backend.maxBusy, 1, 'statements ran one at a time');
      assert.equal(backend.ended, false, 'no connection had to be destroyed');
    }),
    { numRuns: 60 },
  );
});

// ---- Re-sent cancel requests (second test) ----
//
// Everything runs on the manual clock: the statement's trip to the backend, its run, its answer,
// and each cancel connection (connect, the server's signal, its close or error). `net.connect` is
// replaced for the fake server's address only, so sendCancelRequest runs unchanged on a scripted
// socket; its time limit and the lane's timers are manual-clock timers too.

/** The documented re-send rule (README, cancel-cycle.ts): pauses after each request is over; 1 + 3 requests. */
const RESEND_PAUSES_MS = [25, 100, 400] as const;
const MAX_REQUESTS = 1 + RESEND_PAUSES_MS.length;
/** TEST-NET-1 (never routed): connections to it are scripted below, never really opened. */
const SCRIPTED_HOST = '192.0.2.1';
const SCRIPTED_PORT = 5432;

/** How the server handles one cancel connection. */
type Behaviour =
  /** Connects, signals the backend after the fork delay, then closes: 'delivered'. */
  | { kind: 'ok'; connectMs: number; forkMs: number; closeMs: number }
  /** Fails before connecting: 'not-sent', no signal. */
  | { kind: 'refused'; connectMs: number }
  /** Connects and never closes (the signal may still come): 'unknown' at the request's time limit. */
  | { kind: 'hang'; connectMs: number; forkMs: number; signals: boolean }
  /** Connects, then the connection fails (the signal may still come): 'unknown'. */
  | { kind: 'reset'; connectMs: number; forkMs: number; signals: boolean; errorMs: number };

interface Schedule {
  cleanupTimeoutMs: number;
  /** When the statement's context ends, ms after it was sent. */
  cancelAtMs: number;
  /** How long the statement takes to reach the backend (still in the socket buffer, or on the wire). */
  transitMs: number;
  /** How long it runs once there if nothing stops it; undefined = until a signal stops it. */
  runMs: number | undefined;
  /** How long an answer takes back to the client. */
  returnMs: number;
  /** The cancel connections, in the order the lane opens them (a fifth one would behave as 'ok'). */
  requests: Behaviour[];
}

type Outcome = 'delivered' | 'not-sent' | 'unknown';

interface Request {
  n: number;
  openAt: number;
  openSeq: number;
  connected: boolean;
  serverClosed: boolean;
  overAt?: number;
  overSeq?: number;
  /** What sendCancelRequest reports, by its contract, for what happened on the connection. */
  outcome?: Outcome;
  /** What its signal did, if the server sent one. */
  signal?: 'killed' | 'dropped';
}

interface Stmt {
  id: string;
  done: (err: unknown, res?: unknown) => void;
  sentSeq: number;
  running: boolean;
  answered: boolean;
  answerAt?: number;
  answerSeq?: number;
}

type Settled = { ok: true; value: unknown; seq: number; at: number } | { ok: false; e: unknown; seq: number; at: number };

class ScriptedSocket extends EventEmitter {
  constructor(
    private readonly b: ScriptedBackend,
    readonly r: Request,
  ) {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  write(buf: Buffer): boolean {
    this.b.received(this, buf);
    return true;
  }
  destroy(): this {
    this.b.over(this.r);
    return this;
  }
}

/**
 * A fake pg client, its backend and its server's cancel port, scripted by a `Schedule`. Statements:
 * 'SLEEP <id>' (s0 follows the schedule, s1 runs 3 ms) and '' (the health check). Whatever breaks
 * a rule the lane must keep is recorded in `violations` at the moment it happens.
 */
class ScriptedBackend {
  readonly processID = 4242;
  readonly secretKey = 777;
  readonly host = SCRIPTED_HOST;
  readonly port = SCRIPTED_PORT;
  readonly violations: string[] = [];
  readonly requests: Request[] = [];
  readonly stmts = new Map<string, Stmt>();
  readonly killed: string[] = [];
  /** The statement sent and not answered yet (the lane sends one at a time). */
  current: Stmt | undefined = undefined;
  ended = false;
  private seq = 0;
  constructor(readonly plan: Schedule) {}

  /** A global order of everything that happens (several things happen at one manual-clock time). */
  tick(): number {
    return ++this.seq;
  }
  private now(): number {
    return getClock().now();
  }
  private later(ms: number, fn: () => void): void {
    getClock().setTimer(fn, ms, false);
  }
  private inFlight(): Request[] {
    return this.requests.filter((r) => r.overSeq === undefined);
  }

  query(config: unknown, a?: unknown, b?: unknown): void {
    const text = typeof config === 'string' ? config : (config as { text: string }).text;
    const done = (typeof a === 'function' ? a : b) as Stmt['done'];
    const id = text === '' ? 'probe' : /^SLEEP (\S+)$/.exec(text)![1]!;
    const at = `${id} sent at ${this.now()}`;
    if (this.ended) this.violations.push(`${at} on a closed connection`);
    if (this.current !== undefined) this.violations.push(`${at} while ${this.current.id} had not answered`);
    for (const r of this.inFlight()) this.violations.push(`${at} while cancel request ${r.n} was in flight`);
    const s: Stmt = { id, done, sentSeq: this.tick(), running: false, answered: false };
    this.stmts.set(id === 'probe' ? `probe${this.stmts.size}` : id, s);
    this.current = s;
    const transit = id === 's0' ? this.plan.transitMs : 0;
    const run = id === 's0' ? this.plan.runMs : id === 'probe' ? 0 : 3;
    this.later(transit, () => {
      if (s.answered || this.ended) return;
      s.running = true;
      if (run === undefined) return;
      this.later(run, () => {
        if (!s.running) return;
        s.running = false;
        this.answer(s, undefined, { rows: [{ id }], command: 'SELECT' });
      });
    });
  }

  private answer(s: Stmt, err: unknown, res?: unknown, ms = this.plan.returnMs): void {
    this.later(ms, () => {
      if (s.answered) return;
      s.answered = true;
      s.answerAt = this.now();
      s.answerSeq = this.tick();
      if (this.current === s) this.current = undefined;
      s.done(err, res);
    });
  }

  getTransactionStatus(): 'I' {
    return 'I';
  }

  /** The lane's destroy hook: node-postgres fails the statement still pending. */
  end(): Promise<void> {
    this.ended = true;
    const s = this.current;
    if (s !== undefined && !s.answered) {
      s.running = false;
      this.answer(s, new Error('Connection terminated'), undefined, 0);
    }
    return Promise.resolve();
  }

  /** `net.connect` to the scripted server: one cancel connection. */
  connect(): ScriptedSocket {
    const n = this.requests.length + 1;
    for (const r of this.inFlight()) this.violations.push(`cancel request ${n} opened at ${this.now()} while request ${r.n} was in flight`);
    const r: Request = { n, openAt: this.now(), openSeq: this.tick(), connected: false, serverClosed: false };
    this.requests.push(r);
    const how = this.behaviour(r);
    const socket = new ScriptedSocket(this, r);
    this.later(how.connectMs, () => {
      if (r.overSeq !== undefined) return;
      if (how.kind === 'refused') {
        socket.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
        return;
      }
      r.connected = true;
      socket.emit('connect');
    });
    return socket;
  }

  private behaviour(r: Request): Behaviour {
    return this.plan.requests[r.n - 1] ?? { kind: 'ok', connectMs: 0, forkMs: 0, closeMs: 0 };
  }

  /** The server got the request's bytes: signal, then close (or not), per the behaviour. */
  received(socket: ScriptedSocket, buf: Buffer): void {
    const r = socket.r;
    if (
      buf.length !== 16 ||
      buf.readInt32BE(4) !== 80877102 ||
      buf.readInt32BE(8) !== this.processID ||
      buf.readInt32BE(12) !== this.secretKey
    ) {
      this.violations.push(`cancel request ${r.n} carried the wrong bytes`);
    }
    const how = this.behaviour(r);
    if (how.kind === 'ok') {
      this.later(how.forkMs, () => {
        this.signal(r);
        this.later(how.closeMs, () => {
          if (r.overSeq !== undefined) return;
          r.serverClosed = true;
          socket.emit('close', false);
        });
      });
    } else if (how.kind === 'hang' || how.kind === 'reset') {
      if (how.signals) this.later(how.forkMs, () => this.signal(r));
      if (how.kind === 'reset') {
        this.later(how.errorMs, () => {
          if (r.overSeq !== undefined) return;
          socket.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        });
      }
    }
  }

  /** The signal reaches the backend: kills the statement running there, else is dropped. */
  private signal(r: Request): void {
    const s = this.current;
    if (this.ended || s === undefined || !s.running) {
      r.signal = 'dropped';
      return;
    }
    r.signal = 'killed';
    s.running = false;
    this.killed.push(s.id);
    this.answer(s, Object.assign(new Error('canceling statement due to user request'), { code: '57014', severity: 'ERROR' }));
  }

  /** sendCancelRequest destroyed the socket: the request is over (it calls back right after). */
  over(r: Request): void {
    if (r.overSeq !== undefined) return;
    r.overAt = this.now();
    r.overSeq = this.tick();
    r.outcome = r.connected && r.serverClosed ? 'delivered' : r.connected ? 'unknown' : 'not-sent';
  }

  /** One line per request, for failure messages. */
  trace(): string {
    const s0 = this.stmts.get('s0');
    const lines = this.requests.map(
      (r) => `  request ${r.n}: ${r.openAt}..${r.overAt ?? 'open'} ${r.outcome ?? ''} signal=${r.signal ?? 'none'}`,
    );
    lines.push(
      `  s0 answered at ${s0?.answerAt ?? 'never'}; killed: ${this.killed.join(',') || 'none'}; connection ${this.ended ? 'closed' : 'kept'}`,
    );
    return lines.join('\n');
  }
}

let scripted: ScriptedBackend | undefined;

/** Replaces `net.connect` for the scripted address while `fn` runs. */
async function withScriptedConnect(fn: () => Promise<void>): Promise<void> {
  const mutableNet = net as unknown as { connect: (...args: unknown[]) => unknown };
  const real = mutableNet.connect;
  mutableNet.connect = function (this: unknown, ...args: unknown[]): unknown {
    if (args[0] === SCRIPTED_PORT && args[1] === SCRIPTED_HOST) {
      if (scripted === undefined) throw new Error('no scripted backend');
      return scripted.connect();
    }
    return real.apply(this, args);
  };
  try {
    await fn();
  } finally {
    mutableNet.connect = real;
  }
}

/** Cases the generator must reach (counted over one property run; see the test). */
const reached = new Map<string, number>();
function reach(what: string): void {
  reached.set(what, (reached.get(what) ?? 0) + 1);
}

/** Runs one schedule to its end (no timer left) and checks every rule on what happened. */
async function runSchedule(plan: Schedule): Promise<void> {
  const clock = useManualClock(0);
  const b = new ScriptedBackend(plan);
  scripted = b;
  const scope = withCancel(background());
  try {
    const client = wrapClient(b as never, { serverTimeout: false, cleanupTimeoutMs: plan.cleanupTimeoutMs });
    const got0: Settled[] = [];
    const got1: Settled[] = [];
    const record = (into: Settled[]) =>
      [
        (value: unknown) => {
          into.push({ ok: true, value, seq: b.tick(), at: getClock().now() });
        },
        (e: unknown) => {
          into.push({ ok: false, e, seq: b.tick(), at: getClock().now() });
        },
      ] as const;
    void client.query(scope.ctx, 'SLEEP s0').then(...record(got0));
    void client.query(background(), 'SLEEP s1').then(...record(got1)); // queued behind s0
    let cancelSeq: number | undefined;
    getClock().setTimer(
      () => {
        cancelSeq = b.tick();
        scope.cancel();
      },
      plan.cancelAtMs,
      false,
    );
    for (let firings = 0; await clock.next(); firings++) {
      if (firings > 10_000) assert.fail('timers kept firing');
    }

    const where = `\n${b.trace()}`;
    assert.deepEqual(b.violations, [], `rules broken as it happened:${where}`);
    const s0 = b.stmts.get('s0')!;
    const reqs = b.requests;
    for (const r of reqs) assert.ok(r.overSeq !== undefined, `cancel request ${r.n} never ended${where}`);
    assert.equal(got0.length, 1, `the caller of s0 got ${got0.length} outcomes${where}`);
    assert.equal(got1.length, 1, `the caller of s1 got ${got1.length} outcomes${where}`);
    assert.ok(
      !b.killed.includes('s1') && !b.killed.some((id) => id.startsWith('probe')),
      `a cancel signal stopped ${b.killed.join(',')}${where}`,
    );

    const cancelled = cancelSeq !== undefined && (s0.answerSeq === undefined || cancelSeq < s0.answerSeq);
    if (!cancelled) {
      // The statement answered before its context ended: no cancel, its own result.
      assert.equal(reqs.length, 0, `cancel requests for a statement that had answered${where}`);
      assert.ok(got0[0]!.ok && (got0[0]!.value as { rows: Array<{ id: string }> }).rows[0]!.id === 's0', `s0 lost its result${where}`);
      assert.equal(b.ended, false, `connection closed without a cancel${where}`);
    } else {
      const windowEnd = plan.cancelAtMs + plan.cleanupTimeoutMs;
      assert.ok(reqs.length >= 1, `no cancel request was sent${where}`);
      assert.equal(reqs[0]!.openAt, plan.cancelAtMs, `the first request was not sent when the context ended${where}`);
      assert.ok(reqs.length <= MAX_REQUESTS, `${reqs.length} cancel requests for one cancel (at most ${MAX_REQUESTS})${where}`);
      for (const r of reqs) {
        assert.ok(s0.answerSeq === undefined || r.openSeq < s0.answerSeq, `request ${r.n} sent after the statement settled${where}`);
        assert.ok(
          r.overAt! <= windowEnd,
          `request ${r.n} was over at ${r.overAt}, after the cleanupTimeoutMs window (${windowEnd})${where}`,
        );
      }
      // The re-send rule: request k+1 exactly PAUSE[k] after request k is over, whenever by then the
      // statement has not settled and the pause ends inside the window — and never otherwise.
      for (let k = 1; k < MAX_REQUESTS && k <= reqs.length; k++) {
        const due = reqs[k - 1]!.overAt! + RESEND_PAUSES_MS[k - 1]!;
        const next = reqs[k];
        if (next !== undefined) {
          assert.equal(
            next.openAt,
            due,
            `request ${k + 1} sent at ${next.openAt}, not ${RESEND_PAUSES_MS[k - 1]} ms after request ${k} was over${where}`,
          );
          assert.ok(next.openAt < windowEnd, `request ${k + 1} sent at ${next.openAt}, at or after the window's end ${windowEnd}${where}`);
        } else {
          const owed = due < windowEnd && (s0.answerAt === undefined || s0.answerAt > due);
          assert.ok(
            !owed,
            `request ${k + 1} was due at ${due} (statement unsettled, window open until ${windowEnd}) but never sent${where}`,
          );
        }
      }
      // The caller gets ctx.err (once: got0 holds one outcome, so the promise did settle), after
      // every request is over — except when the window ran out: then the connection is closed and
      // the caller is answered at the window's end, the instant the last request's own time limit
      // (the rest of the window) ends that request too.
      const g = got0[0]!;
      assert.ok(!g.ok && g.e === scope.ctx.err, `s0's caller did not get ctx.err: ${g.ok ? 'a result' : String(g.e)}${where}`);
      for (const r of reqs) {
        const atWindowEnd = b.ended && g.at === windowEnd && r.overAt === windowEnd;
        assert.ok(r.overSeq! < g.seq || atWindowEnd, `s0's caller answered at ${g.at} while request ${r.n} was in flight${where}`);
      }
      // Kept iff no outcome was 'unknown' and the statement stopped and every request was over
      // inside the window (the health check always answers, within returnMs < cleanupTimeoutMs).
      const unknown = reqs.some((r) => r.outcome === 'unknown');
      const doneAt = Math.max(s0.answerAt ?? Infinity, ...reqs.map((r) => r.overAt!));
      if (unknown || doneAt > windowEnd) {
        assert.equal(b.ended, true, `connection kept though ${unknown ? "an outcome was 'unknown'" : 'the window ran out'}${where}`);
      } else if (doneAt < windowEnd) {
        assert.equal(
          b.ended,
          false,
          `connection closed though the statement stopped and every request was confirmed inside the window${where}`,
        );
      } // doneAt === windowEnd: a tie with the window's timer, either way is right
      if (!b.ended)
        assert.ok(
          [...b.stmts.keys()].some((k) => k.startsWith('probe')),
          `connection kept without a health check${where}`,
        );
    }
    if (cancelled) {
      const reqs = b.requests;
      const settledAt = s0.answerAt ?? Infinity;
      reach(`${reqs.length} requests`);
      if (!b.ended && reqs.findIndex((r) => r.signal === 'killed') >= 1) reach('kept: a re-sent request stopped the statement');
      if (reqs.some((r) => r.openAt <= settledAt && r.overAt! > settledAt)) reach('settled while a request was in flight');
      if (settledAt !== Infinity && reqs.every((r) => r.overAt! < settledAt)) reach('settled during a pause');
      if (reqs.some((r) => r.outcome === 'unknown')) reach("an 'unknown' outcome");
      if (reqs.some((r) => r.outcome === 'not-sent')) reach("a 'not-sent' outcome");
      if (b.ended && !reqs.some((r) => r.outcome === 'unknown')) reach('closed: the window ran out');
    } else {
      reach('answered before the context ended');
    }
    if (b.ended) {
      const g = got1[0]!;
      assert.ok(
        !g.ok && g.e instanceof Error && g.e.message.startsWith('@ctxkit/pg:'),
        `s1 after a closed connection: ${g.ok ? 'a result' : String(g.e)}${where}`,
      );
      assert.equal(b.stmts.has('s1'), false, `s1 was sent on a closed connection${where}`);
    } else {
      const g = got1[0]!;
      assert.ok(
        g.ok && (g.value as { rows: Array<{ id: string }> }).rows[0]!.id === 's1',
        `s1 did not get its own result: ${g.ok ? 'another result' : String(g.e)}${where}`,
      );
      assert.equal(b.current, undefined, `a statement still runs on a kept connection${where}`);
      assert.ok(s0.answered, `s0 never stopped on a kept connection${where}`);
    }
  } finally {
    scope.cancel();
    scripted = undefined;
    clock.restore();
  }
}

test('re-sent cancel requests: one at a time, none after the statement settled, at most 1 + 3, all inside cleanupTimeoutMs (random schedules)', async () => {
  const ms = (max: number) => fc.integer({ min: 0, max });
  const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('ok' as const),
        connectMs: fc.oneof(ms(3), ms(300)),
        forkMs: ms(3),
        closeMs: fc.oneof(ms(3), ms(400)),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('refused' as const), connectMs: ms(50) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('hang' as const), connectMs: ms(50), forkMs: ms(600), signals: fc.boolean() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('reset' as const),
        connectMs: ms(50),
        forkMs: ms(50),
        signals: fc.boolean(),
        errorMs: ms(50),
      }),
    },
  );
  const schedule: fc.Arbitrary<Schedule> = fc.record({
    cleanupTimeoutMs: fc.oneof(fc.integer({ min: 30, max: 200 }), fc.integer({ min: 200, max: 1500 }), fc.constant(5000)),
    cancelAtMs: fc.oneof(ms(5), ms(60)),
    // Before the first request's signal, between requests, after the last one.
    transitMs: fc.oneof(ms(5), ms(60), ms(900)),
    runMs: fc.option(fc.oneof(ms(5), ms(800)), { nil: undefined }),
    returnMs: ms(20),
    requests: fc.array(behaviour, { minLength: MAX_REQUESTS, maxLength: MAX_REQUESTS }),
  });
  reached.clear();
  await withScriptedConnect(() => fc.assert(fc.asyncProperty(schedule, runSchedule), { numRuns: 1000 }));
  // The generator does reach the cases that matter (each seen in well over 1 % of runs).
  for (const what of [
    '1 requests',
    '2 requests',
    '3 requests',
    '4 requests',
    'kept: a re-sent request stopped the statement',
    'settled while a request was in flight',
    'settled during a pause',
    "an 'unknown' outcome",
    "a 'not-sent' outcome",
    'closed: the window ran out',
    'answered before the context ended',
  ]) {
    assert.ok((reached.get(what) ?? 0) > 0, `no generated schedule reached: ${what} (${JSON.stringify([...reached])})`);
  }
});
