import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { isLive } from './fake-clock.js';
import {
  background,
  todo,
  withCancel,
  withValue,
  withoutCancel,
  createKey,
  cause,
  isContext,
  CanceledError,
  DeadlineExceededError,
  isCanceled,
  isContextError,
  withTimeout,
  type Context,
} from '@ctxkit/core';
import { linkedChildren } from '@ctxkit/core/diagnostics';
import { leakCheckAfterAll } from '@ctxkit/testing';

// Tests of cascading end parents on purpose without cancelling their children: not a leak here.
leakCheckAfterAll(after, { endedWithParent: false }); // no live context, lost cancel or zombie work

describe('background() and todo()', () => {
  for (const [name, root] of [
    ['background', background()],
    ['todo', todo()],
  ] as const) {
    test(`${name}: never ends, no deadline, no values, signal never aborts`, () => {
      assert.ok(isLive(root));
      assert.equal(root.deadline, undefined);
      assert.equal(root.value(createKey('k')), undefined);
      assert.equal(root.signal.aborted, false);
      assert.equal(cause(root), undefined);
      root.throwIfDone();
      assert.ok(isContext(root));
    });
  }
  test('are singletons and distinct from each other', () => {
    assert.equal(background(), background());
    assert.equal(todo(), todo());
    assert.notEqual(background(), todo());
  });
});

describe('withCancel', () => {
  test('cancel ends the child with CanceledError named AbortError', () => {
    const s = withCancel(background());
    assert.ok(isLive(s.ctx));
    s.cancel();
    assert.ok(s.ctx.err instanceof CanceledError);
    assert.equal(s.ctx.err.name, 'AbortError');
    assert.ok(isCanceled(s.ctx.err));
    assert.ok(isContextError(s.ctx.err));
    assert.throws(
      () => s.ctx.throwIfDone(),
      (e) => e === s.ctx.err,
    );
  });

  test('err is the same object on every read', () => {
    const s = withCancel(background());
    s.cancel();
    assert.equal(s.ctx.err, s.ctx.err);
  });

  test('all descendants have ended by the time cancel() returns', () => {
    const root = withCancel(background());
    const a = withCancel(root.ctx);
    const b = withCancel(withValue(a.ctx, createKey('x'), 1));
    const c = withTimeout(b.ctx, 60_000);
    root.cancel();
    for (const s of [a, b, c]) assert.ok(s.ctx.err instanceof CanceledError);
    assert.equal(cause(c.ctx), root.ctx.err, 'no cause given: cause is the error itself');
  });

  test('cancel is idempotent and the first cause wins', () => {
    const s = withCancel(background());
    s.cancel('first');
    const err = s.ctx.err;
    s.cancel('second');
    assert.equal(cause(s.ctx), 'first');
    assert.equal(s.ctx.err, err);
    assert.equal(s.ctx.err?.cause, 'first');
  });

  test('with no cause, cause(ctx) === ctx.err; with a cause, ctx.err.cause is it', () => {
    const a = withCancel(background());
    a.cancel();
    assert.equal(cause(a.ctx), a.ctx.err);
    const b = withCancel(background());
    const why = new Error('shutting down');
    b.cancel(why);
    assert.equal(cause(b.ctx), why);
    assert.equal(b.ctx.err?.cause, why);
  });

  test('a child ended by its parent reports the parent cause', () => {
    const p = withCancel(background());
    const c = withCancel(p.ctx);
    p.cancel('parent reason');
    assert.equal(cause(c.ctx), 'parent reason');
    assert.equal(c.ctx.err, p.ctx.err, 'the parent error object is reused, not copied');
  });

  test('ending a child never affects its parent or siblings', () => {
    const p = withCancel(background());
    const a = withCancel(p.ctx);
    const b = withCancel(p.ctx);
    a.cancel();
    assert.ok(isLive(p.ctx));
    assert.ok(isLive(b.ctx));
    p.cancel();
    assert.ok(b.ctx.err);
  });

  test('a child of an ended parent is born ended with the parent error', () => {
    const p = withCancel(background());
    p.cancel('gone');
    const c = withCancel(p.ctx);
    assert.equal(c.ctx.err, p.ctx.err);
    assert.equal(cause(c.ctx), 'gone');
    assert.equal(linkedChildren(p.ctx), 0);
    c.cancel();
  });

  test('ended children are unlinked from the parent at once, however they end', () => {
    const p = withCancel(background());
    const kids = Array.from({ length: 5 }, () => withCancel(p.ctx));
    assert.equal(linkedChildren(p.ctx), 5);
    kids[2]!.cancel();
    kids[0]!.cancel();
    kids[4]!.cancel();
    assert.equal(linkedChildren(p.ctx), 2);
    const mid = withCancel(p.ctx);
    const grandchild = withCancel(mid.ctx);
    mid.cancel(); // grandchild ended through its parent
    assert.equal(linkedChildren(mid.ctx), 0);
    assert.ok(grandchild.ctx.err);
    kids[1]!.cancel();
    kids[3]!.cancel();
    assert.equal(linkedChildren(p.ctx), 0);
    p.cancel();
  });

  test('an ended child is garbage-collectable while its parent lives', async (t) => {
    if (typeof globalThis.gc !== 'function') return t.diagnostic('needs --expose-gc (npm test passes it)');
    const p = withCancel(background());
    let ref: WeakRef<Context> | undefined;
    (() => {
      const c = withCancel(p.ctx);
      void c.ctx.signal;
      void c.ctx.done; // observed children too
      ref = new WeakRef(c.ctx);
      c.cancel();
    })();
    for (let i = 0; i < 10 && ref!.deref() !== undefined; i++) {
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
    }
    assert.equal(ref!.deref(), undefined);
    p.cancel();
  });

  test('deep chains (50k levels) cancel without recursion overflow', () => {
    const root = withCancel(background());
    let ctx: Context = root.ctx;
    const scopes = [];
    for (let i = 0; i < 50_000; i++) {
      const s = withCancel(ctx);
      scopes.push(s);
      ctx = s.ctx;
    }
    root.cancel();
    assert.ok(ctx.err instanceof CanceledError);
  });

  test('Disposable: `using` cancels at block exit', () => {
    let inner: Context;
    {
      using s = withCancel(background());
      inner = s.ctx;
      assert.ok(isLive(inner));
    }
    assert.ok(inner.err instanceof CanceledError);
  });
});

describe('signal and done', () => {
  test('are lazy, stable, and abort/resolve once with reason === ctx.err', async () => {
    const s = withCancel(background());
    const sig = s.ctx.signal;
    assert.equal(s.ctx.signal, sig);
    assert.equal(s.ctx.done, s.ctx.done);
    let aborts = 0;
    sig.addEventListener('abort', () => aborts++);
    s.cancel('x');
    s.cancel('y');
    assert.equal(aborts, 1);
    assert.equal(sig.reason, s.ctx.err);
    await s.ctx.done;
  });

  test('signal read after the end is already aborted with ctx.err', async () => {
    const s = withCancel(background());
    s.cancel();
    assert.ok(s.ctx.signal.aborted);
    assert.equal(s.ctx.signal.reason, s.ctx.err);
    await s.ctx.done;
  });

  test('descendants observed through signal/done are notified when an ancestor ends', async () => {
    const root = withCancel(background());
    const leaf = withCancel(withValue(withCancel(root.ctx).ctx, createKey('k'), 1));
    const sig = leaf.ctx.signal;
    const done = leaf.ctx.done;
    root.cancel();
    assert.ok(sig.aborted);
    await done;
  });

  test('an abort listener sees a fully ended subtree and may cancel other contexts', () => {
    const root = withCancel(background());
    const a = withCancel(root.ctx);
    const b = withCancel(root.ctx);
    const other = withCancel(background());
    let sawB: unknown;
    a.ctx.signal.addEventListener('abort', () => {
      sawB = b.ctx.err;
      other.cancel();
      withCancel(a.ctx); // born ended, no corruption
    });
    root.cancel();
    assert.ok(sawB instanceof CanceledError);
    assert.ok(other.ctx.err);
  });
});

describe('values', () => {
  test('nearest value wins; default otherwise; values survive cancellation layers', () => {
    const k = createKey<string>('user', 'anon');
    const other = createKey<number>('n');
    assert.equal(background().value(k), 'anon');
    const a = withValue(background(), k, 'alice');
    const b = withCancel(a);
    const c = withValue(b.ctx, other, 7);
    const d = withValue(c, k, 'bob');
    assert.equal(c.value(k), 'alice');
    assert.equal(d.value(k), 'bob');
    assert.equal(d.value(other), 7);
    assert.equal(a.value(other), undefined);
    b.cancel();
  });

  test('keys with the same name never collide', () => {
    const k1 = createKey<number>('id');
    const k2 = createKey<number>('id');
    const ctx = withValue(background(), k1, 1);
    assert.equal(ctx.value(k2), undefined);
  });

  test('a value context ends with its parent and shares its signal', () => {
    const p = withCancel(background());
    const v = withValue(p.ctx, createKey('k'), 1);
    assert.equal(v.signal, p.ctx.signal);
    p.cancel('why');
    assert.equal(v.err, p.ctx.err);
    assert.equal(cause(v), 'why');
  });
});

describe('withoutCancel', () => {
  test('keeps values, never ends, has no deadline, cause undefined', () => {
    const k = createKey<string>('k');
    const p = withTimeout(withValue(background(), k, 'v'), 1000);
    const d = withoutCancel(p.ctx);
    p.cancel('bye');
    assert.equal(d.value(k), 'v');
    assert.ok(isLive(d));
    assert.equal(d.deadline, undefined);
    assert.equal(cause(d), undefined);
    assert.equal(d.signal.aborted, false);
    const child = withCancel(d);
    assert.equal(child.ctx.err, undefined, 'children of a detached context are live');
    child.cancel();
  });
});

describe('bad input', () => {
  const notContexts: unknown[] = [undefined, null, {}, 'ctx', 1, new AbortController().signal];
  test('a missing or non-context parent throws TypeError naming the function', () => {
    for (const bad of notContexts) {
      assert.throws(
        () => withCancel(bad as Context),
        (e: Error) => e instanceof TypeError && /withCancel: parent must be a Context/.test(e.message),
      );
      assert.throws(() => withoutCancel(bad as Context), TypeError);
      assert.throws(() => withValue(bad as Context, createKey('k'), 1), TypeError);
      assert.throws(() => cause(bad as Context), TypeError);
    }
  });
  test('withValue with a key not made by createKey throws TypeError', () => {
    for (const bad of ['k', Symbol('k'), {}, { name: 'k', defaultValue: 1 }]) {
      assert.throws(() => withValue(background(), bad as never, 1), /key must be made by createKey/);
      assert.throws(() => background().value(bad as never), TypeError);
    }
  });
  test('errors are distinct classes with stable names', () => {
    assert.equal(new CanceledError().name, 'AbortError');
    assert.equal(new DeadlineExceededError().name, 'TimeoutError');
    assert.ok(!isCanceled(new DeadlineExceededError()));
  });
});
