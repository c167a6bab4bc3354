import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  background,
  CanceledError,
  DeadlineExceededError,
  type OperationInfo,
  operation,
  subscribe,
  withCancel,
  withTimeout,
} from '@ctxkit/core';
import { linkedChildren } from '@ctxkit/core/diagnostics';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { fakeClock } from './fake-clock.js';

leakCheckAfterAll(after);

/** Records the hooks' view of operations while `fn` runs. */
async function recording<T>(fn: () => Promise<T>): Promise<{ started: string[]; settled: Array<[string, boolean, unknown]>; value: T }> {
  const started: string[] = [];
  const settled: Array<[string, boolean, unknown]> = [];
  const off = subscribe({
    operationStarted: (op: OperationInfo) => started.push(op.label),
    operationSettled: (op, failed, error) => settled.push([op.label, failed, error]),
  });
  try {
    const value = await fn();
    return { started, settled, value };
  } finally {
    off();
  }
}

describe('operation', () => {
  test('an ended ctx fails fast with ctx.err: the executor never runs, the attempt is reported', async () => {
    const scope = withCancel(background());
    scope.cancel('gone');
    let ran = false;
    const r = await recording(() =>
      operation(scope.ctx, 'test.op', () => {
        ran = true;
      }).then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
    assert.equal(ran, false);
    assert.equal(r.value, scope.ctx.err);
    assert.deepEqual(r.started, ['test.op']);
    assert.deepEqual(r.settled, [['test.op', true, scope.ctx.err]]);
  });

  test('resolves with the work result; reported once; release runs once; no listener left', async () => {
    using scope = withCancel(background());
    let releases = 0;
    let settleLater: ((v: number) => void) | undefined;
    const r = await recording(async () => {
      const p = operation<number>(scope.ctx, 'test.op', (s) => {
        settleLater = (v) => s.resolve(v);
        return { release: () => releases++ };
      });
      assert.equal(linkedChildren(scope.ctx), 1, 'the operation observes ctx while pending');
      settleLater!(42);
      settleLater!(43); // ignored: first settlement wins
      return p;
    });
    assert.equal(r.value, 42);
    assert.equal(releases, 1);
    assert.deepEqual(r.settled, [['test.op', false, undefined]]);
    assert.equal(linkedChildren(scope.ctx), 0);
  });

  test('rejects with the work error; a later resolve is ignored', async () => {
    using scope = withCancel(background());
    const boom = new Error('boom');
    await assert.rejects(
      operation(scope.ctx, 'test.op', (s) => {
        s.reject(boom);
        s.resolve(1);
      }),
      (e) => e === boom,
    );
    assert.equal(linkedChildren(scope.ctx), 0);
  });

  test('a promise given to resolve is followed; its rejection rejects the operation', async () => {
    using scope = withCancel(background());
    assert.equal(await operation(scope.ctx, 'test.op', (s) => s.resolve(Promise.resolve('v'))), 'v');
    const boom = new Error('boom');
    await assert.rejects(
      operation(scope.ctx, 'test.op', (s) => s.resolve(Promise.reject(boom))),
      (e) => e === boom,
    );
    assert.equal(linkedChildren(scope.ctx), 0);
  });

  test('a throw from the executor rejects with it and runs no cancel', async () => {
    using scope = withCancel(background());
    const boom = new Error('boom');
    await assert.rejects(
      operation(scope.ctx, 'test.op', () => {
        throw boom;
      }),
      (e) => e === boom,
    );
    assert.equal(linkedChildren(scope.ctx), 0);
  });

  test('ctx ends first: cancel runs inside cancel() with ctx.err, then rejects with ctx.err; release runs once', async () => {
    const scope = withCancel(background());
    const calls: string[] = [];
    let settle: ((v: string) => void) | undefined;
    const p = operation<string>(scope.ctx, 'test.op', (s) => {
      settle = (v) => s.resolve(v);
      return {
        cancel: (err) => {
          calls.push(`cancel:${err === scope.ctx.err}`);
        },
        release: () => calls.push('release'),
      };
    });
    scope.cancel();
    assert.deepEqual(calls, ['cancel:true', 'release'], 'cancel and release run synchronously inside cancel()');
    settle!('late'); // ignored
    await assert.rejects(p, (e) => e === scope.ctx.err && e instanceof CanceledError);
    assert.deepEqual(calls, ['cancel:true', 'release']);
  });

  test('a deadline ends it with DeadlineExceededError; a bare function is the cancel', async () => {
    const clock = fakeClock();
    try {
      const scope = withTimeout(background(), 100);
      let cancelled: unknown;
      const p = operation(scope.ctx, 'test.op', () => (err) => {
        cancelled = err;
      });
      clock.tick(100); // the deadline passes while the work is pending
      await assert.rejects(p, (e) => e === scope.ctx.err && e instanceof DeadlineExceededError);
      assert.equal(cancelled, scope.ctx.err);
      scope.cancel();
    } finally {
      clock.restore();
    }
  });

  test('cancel returning a promise: the operation waits for it, then rejects with ctx.err', async () => {
    const scope = withCancel(background());
    let finishStopping: (() => void) | undefined;
    let released = false;
    let outcome: string | undefined;
    const p = operation(scope.ctx, 'test.op', () => ({
      cancel: () =>
        new Promise<void>((r) => {
          finishStopping = r;
        }),
      release: () => {
        released = true;
      },
    })).then(
      () => 'resolved',
      (e: unknown) => (e === scope.ctx.err ? 'ctx.err' : 'other'),
    );
    void p.then((o) => {
      outcome = o;
    });
    scope.cancel();
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(outcome, undefined, 'still pending while the far side stops');
    assert.equal(released, false);
    finishStopping!();
    assert.equal(await p, 'ctx.err');
    assert.equal(released, true);
  });

  test('while stopping, a result the work still delivers wins; an error it delivers becomes ctx.err', async () => {
    for (const [deliver, expected] of [
      ['result', 'committed'],
      ['error', 'ctx.err'],
    ] as const) {
      const scope = withCancel(background());
      let s0: { resolve(v: string): void; reject(e: unknown): void } | undefined;
      const p = operation<string>(scope.ctx, 'test.op', (s) => {
        s0 = s;
        return () => new Promise<void>(() => {}); // the far side never confirms
      });
      scope.cancel();
      if (deliver === 'result') s0!.resolve('committed');
      else s0!.reject(new Error('canceling statement due to user request'));
      const got = await p.then(
        (v) => v,
        (e: unknown) => (e === scope.ctx.err ? 'ctx.err' : String(e)),
      );
      assert.equal(got, expected, deliver);
    }
  });

  test('a cancel that throws still rejects with ctx.err', async () => {
    const scope = withCancel(background());
    const p = operation(scope.ctx, 'test.op', () => () => {
      throw new Error('cleanup bug');
    });
    scope.cancel();
    await assert.rejects(p, (e) => e === scope.ctx.err);
  });

  test('on a context that never ends, nothing is linked and the work settles as it does', async () => {
    assert.equal(await operation(background(), 'test.op', (s) => s.resolve(7)), 7);
  });

  test('bad arguments are TypeErrors thrown synchronously, naming what was wrong', () => {
    assert.throws(() => operation(undefined as never, 'x.op', () => {}), /x\.op: ctx must be a Context/);
    assert.throws(() => operation(background(), 3 as never, () => {}), /operation: label must be a string, got number/);
    assert.throws(() => operation(background(), 'x.op', null as never), /x\.op: executor must be a function, got null/);
  });

  test('many operations settled on a long-lived context leave nothing linked to it', async () => {
    using scope = withCancel(background());
    for (let i = 0; i < 1000; i++) await operation(scope.ctx, 'test.op', (s) => void queueMicrotask(() => s.resolve(i)));
    assert.equal(linkedChildren(scope.ctx), 0);
  });
});
