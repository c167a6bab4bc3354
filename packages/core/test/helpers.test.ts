import { describe, test, afterEach, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  background,
  withCancel,
  withTimeout,
  withoutCancel,
  afterFunc,
  fromSignal,
  sleep,
  race,
  cause,
  CanceledError,
  DeadlineExceededError,
  isCanceled,
  isDeadlineExceeded,
  isContextError,
} from '@ctxkit/core';
import { linkedChildren } from '@ctxkit/core/diagnostics';
import { fakeClock, type FakeClock } from './fake-clock.js';
import { leakCheckAfterAll } from '@ctxkit/testing';

// Tests of cascading end parents on purpose without cancelling their children: not a leak here.
leakCheckAfterAll(after, { endedWithParent: false }); // no live context, lost cancel or zombie work

const tick = () => new Promise<void>((r) => setImmediate(r));

let clock: FakeClock;
beforeEach(() => {
  clock = fakeClock();
});
afterEach(() => {
  clock.restore();
});

describe('afterFunc', () => {
  test('runs once after the context ends, never synchronously inside cancel()', async () => {
    const s = withCancel(background());
    let runs = 0;
    afterFunc(s.ctx, () => runs++);
    s.cancel();
    assert.equal(runs, 0, 'not inside cancel()');
    await tick();
    assert.equal(runs, 1);
    s.cancel();
    await tick();
    assert.equal(runs, 1);
  });

  test('is scheduled at once when the context already ended', async () => {
    const s = withCancel(background());
    s.cancel();
    let ran = false;
    const stop = afterFunc(s.ctx, () => {
      ran = true;
    });
    await tick();
    assert.ok(ran);
    assert.equal(stop(), false);
  });

  test('stop() returns true only if it prevented fn, and unlinks it', async () => {
    const s = withCancel(background());
    let ran = false;
    const stop = afterFunc(s.ctx, () => {
      ran = true;
    });
    assert.equal(linkedChildren(s.ctx), 1);
    assert.equal(stop(), true);
    assert.equal(linkedChildren(s.ctx), 0);
    assert.equal(stop(), false);
    s.cancel();
    await tick();
    assert.equal(ran, false);
  });

  test('stop() after cancel but before fn ran still prevents it', async () => {
    const s = withCancel(background());
    let ran = false;
    const stop = afterFunc(s.ctx, () => {
      ran = true;
    });
    s.cancel();
    assert.equal(stop(), true);
    await tick();
    assert.equal(ran, false);
  });

  test('errors thrown by fn are not swallowed: they surface as an uncaught exception', () => {
    const script = `
      const { background, withCancel, afterFunc } = await import('@ctxkit/core');
      const s = withCancel(background());
      afterFunc(s.ctx, () => { throw new Error('boom from afterFunc'); });
      s.cancel();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /boom from afterFunc/);
  });

  test('on a context that never ends, fn never runs', async () => {
    let ran = false;
    const stop = afterFunc(withoutCancel(background()), () => {
      ran = true;
    });
    await tick();
    assert.equal(ran, false);
    assert.equal(stop(), true);
  });
});

describe('fromSignal', () => {
  test('ends when the signal aborts, cause = signal.reason', () => {
    const ac = new AbortController();
    const s = fromSignal(background(), ac.signal);
    const reason = new Error('client went away');
    ac.abort(reason);
    assert.ok(s.ctx.err instanceof CanceledError);
    assert.equal(cause(s.ctx), reason);
  });

  test('a TimeoutError reason gives DeadlineExceededError', () => {
    const ac = new AbortController();
    const s = fromSignal(background(), ac.signal);
    ac.abort(new DOMException('t', 'TimeoutError'));
    assert.ok(s.ctx.err instanceof DeadlineExceededError);
  });

  test('an already-aborted signal gives a context born ended', () => {
    const s = fromSignal(background(), AbortSignal.abort('early'));
    assert.equal(cause(s.ctx), 'early');
  });

  test('its listener is removed when the scope ends first (cancel or parent)', () => {
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const sig = ac.signal;
    const origAdd = sig.addEventListener.bind(sig);
    const origRemove = sig.removeEventListener.bind(sig);
    sig.addEventListener = ((...a: Parameters<typeof origAdd>) => {
      added++;
      origAdd(...a);
    }) as typeof sig.addEventListener;
    sig.removeEventListener = ((...a: Parameters<typeof origRemove>) => {
      removed++;
      origRemove(...a);
    }) as typeof sig.removeEventListener;
    const a = fromSignal(background(), sig);
    a.cancel();
    const parent = withCancel(background());
    fromSignal(parent.ctx, sig);
    parent.cancel();
    assert.equal(added, 2);
    assert.equal(removed, 2);
    ac.abort();
  });

  test('rejects a non-signal with TypeError', () => {
    assert.throws(() => fromSignal(background(), {} as AbortSignal), /fromSignal: signal must be an AbortSignal/);
  });
});

describe('sleep', () => {
  test('resolves after ms on the installed clock and leaves no timer or listener', async () => {
    const s = withCancel(background());
    let done = false;
    const p = sleep(s.ctx, 100).then(() => {
      done = true;
    });
    assert.equal(linkedChildren(s.ctx), 1);
    clock.tick(99);
    await tick();
    assert.equal(done, false);
    clock.tick(1);
    await p;
    assert.equal(linkedChildren(s.ctx), 0);
    assert.equal(clock.pending(), 0);
    s.cancel();
  });

  test('a sleep longer than the longest platform timer waits its whole time, in segments', async () => {
    const MAX = 0x7fffffff;
    const s = withCancel(background());
    let done = false;
    const p = sleep(s.ctx, MAX + 1000).then(() => {
      done = true;
    });
    assert.ok(clock.dues().every((at) => at - clock.now() <= MAX));
    clock.tick(MAX);
    await tick();
    assert.equal(done, false, 'not resolved at the first segment');
    clock.tick(1000);
    await p;
    assert.equal(clock.pending(), 0);
    s.cancel();
  });

  test('rejects with ctx.err when ctx ends first, clearing its timer', async () => {
    const s = withCancel(background());
    const p = sleep(s.ctx, 1000);
    s.cancel('stop');
    await assert.rejects(p, (e) => e === s.ctx.err);
    assert.equal(clock.pending(), 0);
  });

  test('rejects at once on an ended ctx; a deadline rejects with DeadlineExceededError', async () => {
    const ended = withCancel(background());
    ended.cancel();
    await assert.rejects(sleep(ended.ctx, 10), (e) => e === ended.ctx.err);
    const t = withTimeout(background(), 50);
    const p = sleep(t.ctx, 1000);
    clock.tick(50);
    await assert.rejects(p, (e) => isDeadlineExceeded(e) && e === t.ctx.err);
    assert.equal(clock.pending(), 0);
  });

  test('bad ms rejects with TypeError', async () => {
    await assert.rejects(sleep(background(), NaN), TypeError);
    await assert.rejects(sleep(background(), '5' as never), TypeError);
  });
});

describe('race', () => {
  test('settles like the promise when it wins, leaving no listener', async () => {
    const s = withCancel(background());
    assert.equal(await race(s.ctx, Promise.resolve(42)), 42);
    await assert.rejects(race(s.ctx, Promise.reject(new Error('own'))), /own/);
    assert.equal(linkedChildren(s.ctx), 0);
    s.cancel();
  });

  test('rejects with ctx.err when ctx ends first; a later rejection is handled', async () => {
    const s = withCancel(background());
    let rejectLater!: (e: Error) => void;
    const work = new Promise<number>((_, rej) => {
      rejectLater = rej;
    });
    const p = race(s.ctx, work);
    s.cancel();
    await assert.rejects(p, (e) => e === s.ctx.err);
    rejectLater(new Error('late')); // must not become an unhandled rejection
    await tick();
    assert.equal(linkedChildren(s.ctx), 0);
  });

  test('rejects at once on an ended ctx', async () => {
    const s = withCancel(background());
    s.cancel();
    await assert.rejects(race(s.ctx, new Promise(() => {})), (e) => e === s.ctx.err);
  });
});

describe('error recognition', () => {
  test('platform DOMExceptions are recognised', () => {
    const abort = new DOMException('x', 'AbortError');
    const timeout = new DOMException('x', 'TimeoutError');
    assert.ok(isCanceled(abort) && isContextError(abort) && !isDeadlineExceeded(abort));
    assert.ok(isDeadlineExceeded(timeout) && isContextError(timeout) && !isCanceled(timeout));
    assert.ok(!isContextError(new Error('AbortError')));
    const fake = new Error('x');
    fake.name = 'AbortError';
    assert.ok(!isContextError(fake), 'a plain Error named AbortError is not a context error');
    assert.ok(!isContextError(undefined) && !isContextError('AbortError'));
  });
});
