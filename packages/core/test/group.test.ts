import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { background, withCancel, withTimeout, Group, sleep, race, cause, isContextError, type Context } from '@ctxkit/core';
import { linkedChildren } from '@ctxkit/core/diagnostics';
import { leakCheckAfterAll, assertCancellationSafe } from '@ctxkit/testing';

leakCheckAfterAll(after); // every test in this file must leave no live context, lost cancel or zombie work

/** A task that settles when told to, or rejects with ctx.err when its ctx ends first. */
function controllable() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  let started = false;
  let sawCtx: Context | undefined;
  const task = (ctx: Context) => {
    started = true;
    sawCtx = ctx;
    return new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
      ctx.signal.addEventListener('abort', () => rej(ctx.err), { once: true });
    });
  };
  return {
    task,
    resolve: () => resolve(),
    reject: (e: Error) => reject(e),
    get started() {
      return started;
    },
    get ctx() {
      return sawCtx;
    },
  };
}

describe('Group', () => {
  test('tasks run with group.ctx; wait() resolves after all settle, then ends group.ctx', async () => {
    const parent = withCancel(background());
    const g = new Group(parent.ctx);
    const a = controllable();
    const b = controllable();
    g.go(a.task);
    g.go(b.task);
    assert.equal(a.ctx, g.ctx);
    let waited = false;
    const w = g.wait().then(() => {
      waited = true;
    });
    a.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(waited, false, 'wait() waits for every task');
    b.resolve();
    await w;
    assert.ok(g.ctx.err, 'group.ctx ends after wait()');
    assert.equal(linkedChildren(parent.ctx), 0, 'and is unlinked from the parent');
    parent.cancel();
  });

  test('the first rejection cancels group.ctx with that error as cause; wait rejects with it', async () => {
    const g = new Group(background());
    const slow = controllable();
    g.go(slow.task);
    const boom = new Error('first');
    g.go(async () => {
      throw boom;
    });
    g.go(async () => {
      throw new Error('second');
    });
    await assert.rejects(g.wait(), (e) => e === boom);
    assert.equal(cause(g.ctx), boom);
    assert.ok(isContextError(g.ctx.err));
  });

  test('wait() settles only after every started task settled, even after a failure', async () => {
    const g = new Group(background());
    let slowSettled = false;
    g.go(async (ctx) => {
      // ignores cancellation for a moment, like real cleanup code
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      slowSettled = true;
      void ctx;
    });
    g.go(async () => {
      throw new Error('x');
    });
    await assert.rejects(g.wait());
    assert.ok(slowSettled);
  });

  test('limit caps concurrency and runs queued tasks in order', async () => {
    const g = new Group(background(), { limit: 2 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      g.go(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise((r) => setImmediate(r));
        running--;
      });
    }
    await g.wait();
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  test('queued tasks whose turn comes after the group ended are not started', async () => {
    const g = new Group(background(), { limit: 1 });
    const first = controllable();
    const second = controllable();
    g.go(first.task);
    g.go(second.task);
    first.reject(new Error('fail'));
    await assert.rejects(g.wait(), /fail/);
    assert.equal(second.started, false);
  });

  test('parent cancellation ends tasks; skipped queued tasks make wait() reject with ctx.err', async () => {
    const parent = withCancel(background());
    const g = new Group(parent.ctx, { limit: 1 });
    let secondStarted = false;
    g.go((ctx) => sleep(ctx, 60_000).catch(() => {}));
    g.go(async () => {
      secondStarted = true;
    });
    parent.cancel('shutdown');
    await assert.rejects(g.wait(), (e) => e === g.ctx.err);
    assert.equal(secondStarted, false);
    assert.equal(cause(g.ctx), 'shutdown');
  });

  test('a synchronous throw counts as a rejection', async () => {
    const g = new Group(background());
    g.go(() => {
      throw new Error('sync');
    });
    await assert.rejects(g.wait(), /sync/);
  });

  test('wait() with no tasks resolves', async () => {
    await new Group(background()).wait();
  });

  test('bad input', async () => {
    assert.throws(() => new Group(undefined as never), TypeError);
    assert.throws(() => new Group(background(), { limit: 0 }), /limit must be a positive integer/);
    assert.throws(() => new Group(background(), { limit: 1.5 }), TypeError);
    const g = new Group(background());
    assert.throws(() => g.go('x' as never), TypeError);
    await g.wait();
  });

  test('a limited Group of tasks with their own timeouts is cancellation-safe at every point', async () => {
    const finished: string[] = [];
    const result = await assertCancellationSafe(
      async (ctx) => {
        finished.length = 0;
        const g = new Group(ctx, { limit: 2 });
        for (const name of ['a', 'b', 'c']) {
          g.go(async (gctx) => {
            const step = withTimeout(gctx, 1_000);
            try {
              await sleep(step.ctx, 2);
              await race(step.ctx, Promise.resolve(name));
              finished.push(name);
            } finally {
              step.cancel();
            }
          });
        }
        await g.wait();
      },
      { invariant: () => assert.ok(finished.length <= 3) },
    );
    assert.ok(result.points >= 3, `expected points across the three tasks, got ${result.points}`);
  });
});
