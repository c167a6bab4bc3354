// The one-statement-at-a-time lane under random interleavings, against a fake server that models
// PostgreSQL's cancel semantics: a CancelRequest arrives on its own connection, the server signals
// the backend after a delay (PostgreSQL forks for it) and only then closes that connection; the
// signal kills whatever statement runs at that moment, and is dropped when the backend is idle.
// Property: a cancel only ever stops the statement it was meant for; every other statement
// returns its own result; each caller gets exactly one outcome. No PostgreSQL needed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { background, withCancel, type CancelScope } from '@ctxkit/core';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { wrapClient } from '@ctxkit/pg';

leakCheckAfterAll(after);

interface Running { id: string; cb: (err: unknown, res?: unknown) => void; timer: NodeJS.Timeout }

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
  await fc.assert(fc.asyncProperty(fc.array(statement, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 4 }), async (plan, forkDelayMs) => {
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
      void p.then(() => { settled[i] = true; });
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
  }), { numRuns: 60 });
});
