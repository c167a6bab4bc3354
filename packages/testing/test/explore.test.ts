import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Group, background, race, sleep, startOperation, withCancel, withTimeout, withoutCancel, type Context } from '@ctxkit/core';
import {
  CancellationSafetyError,
  assertCancellationSafe,
  exploreCancellation,
  leakCheckAfterAll,
  track,
  useManualClock,
} from '@ctxkit/testing';

// Dogfood: every run the explorer makes here must leave nothing behind (gates of deliberately
// stuck work are released at the end of their test).
leakCheckAfterAll(after);

const THIS_FILE = 'explore.test.ts';

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Correct code: a child deadline cancelled on every path, honouring ctx throughout. */
async function correct(ctx: Context): Promise<string> {
  const scope = withTimeout(ctx, 5_000);
  try {
    await sleep(scope.ctx, 1);
    await sleep(scope.ctx, 1);
    return 'done';
  } finally {
    scope.cancel();
  }
}

test('correct code passes at every point; events in one synchronous stretch are one point', async () => {
  const result = await exploreCancellation(correct);
  assert.equal(result.points, 2, 'withTimeout + first sleep are one point, the second sleep another');
  assert.deepEqual(result.explored, [1, 2]);
  assert.deepEqual(result.unreached, []);
  assert.deepEqual(result.failures, []);
  await assertCancellationSafe(correct);
});

test('the cancellation lands exactly at point k: the operation of point k is in flight, nothing after it ran', async () => {
  const completedPerRun: number[] = [];
  const result = await exploreCancellation(async (ctx) => {
    let completed = 0;
    try {
      for (let i = 0; i < 3; i++) {
        await sleep(ctx, 1);
        completed++;
      }
    } finally {
      completedPerRun.push(completed);
    }
  });
  assert.equal(result.points, 3);
  assert.deepEqual(completedPerRun, [3, 0, 1, 2]);
  assert.deepEqual(result.failures, []);
});

/** An integration call that forgets to fail fast: it reports the work, then runs it anyway. */
function sloppyCall(ctx: Context, ms: number): Promise<void> {
  const op = startOperation(ctx, 'sloppy.call');
  return new Promise<void>((resolve) => setTimeout(resolve, ms)).then(() => op.end());
}

test('a swallowed cancellation that carries on with work on the ended ctx is caught, with where it started', async () => {
  const result = await exploreCancellation(async (ctx) => {
    try {
      await sleep(ctx, 1);
    } catch {
      // BUG: swallows the cancellation
    }
    await sloppyCall(ctx, 1);
  });
  assert.equal(result.points, 2);
  assert.equal(result.failures.length, 1);
  const f = result.failures[0]!;
  assert.equal(f.point, 1);
  assert.match(f.reason, /'sloppy.call' started on the context after it was cancelled/);
  assert.match(f.origin ?? '', new RegExp(THIS_FILE), 'origin: where the late call started');
  assert.match(f.stack ?? '', new RegExp(THIS_FILE), 'stack: where the cancellation landed');
  await assert.rejects(
    assertCancellationSafe(async (ctx) => {
      try {
        await race(ctx, sleep(ctx, 1));
      } catch {
        // BUG
      }
      await sloppyCall(ctx, 1);
    }),
    (e: unknown) => {
      assert.ok(e instanceof CancellationSafetyError);
      assert.match(e.message, /fn is not cancellation-safe: \d+ failures? in \d+ of \d+ runs/);
      assert.match(e.message, /- point 1: 'sloppy.call' started on the context after it was cancelled/);
      assert.match(e.message, /cancelled at:\n\s+at .*explore\.test\.ts/);
      assert.match(e.message, /offending code:\n\s+at .*explore\.test\.ts/);
      return true;
    },
  );
});

test('a call that fails fast with ctx.err on the ended ctx did no work: not a failure', async () => {
  // The cancellation lands during cleanup that finishes anyway (on withoutCancel); the next call
  // fails fast with ctx.err without running anything, and fn rejects with it.
  const result = await exploreCancellation(async (ctx) => {
    await sleep(withoutCancel(ctx), 1);
    await sleep(ctx, 1);
    await race(ctx, Promise.resolve(1));
    await track(ctx, 1, 'mine');
  });
  assert.equal(result.points, 4);
  assert.deepEqual(result.failures, []);
});

test('a scope left uncancelled is caught by the run without cancellation (point 0)', async () => {
  const forgotten: Array<{ cancel(): void }> = [];
  const result = await exploreCancellation(async (ctx) => {
    const scope = withTimeout(ctx, 5_000); // BUG: never cancelled
    forgotten.push(scope); // (kept only so this test can clean up for the file's leak check)
    await sleep(scope.ctx, 1);
  });
  for (const s of forgotten) s.cancel();
  assert.equal(result.failures.length, 1);
  const f = result.failures[0]!;
  assert.equal(f.point, 0);
  assert.match(f.reason, /after fn settled, live context: made by withTimeout and never ended/);
  assert.match(f.origin ?? '', new RegExp(THIS_FILE));
  assert.equal(f.stack, undefined, 'no cancellation landed in run 0');
});

test('a promise left hanging by the cancellation is caught as a hang within timeoutMs', async () => {
  const result = await exploreCancellation(
    async (ctx) => {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      sleep(ctx, 1).then(release, () => {
        // BUG: forgot to release the waiter when the sleep is cancelled
      });
      await gate;
    },
    { timeoutMs: 100 },
  );
  assert.equal(result.points, 1);
  assert.deepEqual(
    result.failures.map((f) => [f.point, f.reason]),
    [[1, 'did not settle within 100 ms of starting (it hangs once cancelled there)']],
  );
});

test('a hang names the operations still pending and hints at an unadvanced manual clock', async () => {
  const clock = useManualClock(0);
  try {
    const result = await exploreCancellation(
      async (ctx) => {
        await sleep(withoutCancel(ctx), 1_000); // BUG: waits on a clock nobody advances, ignoring ctx
      },
      { timeoutMs: 50, maxPoints: 1 },
    );
    const f = result.failures[0]!;
    assert.equal(f.point, 0);
    assert.match(f.reason, /did not settle within 50 ms; still waiting on 'sleep'; note: a non-system clock is installed/);
    assert.match(f.origin ?? '', new RegExp(THIS_FILE));
  } finally {
    clock.restore(); // the stuck sleeps move to real timers and finish
  }
});

test('a rejection with something other than a context error is caught', async () => {
  const result = await exploreCancellation(async (ctx) => {
    try {
      await sleep(ctx, 1);
    } catch {
      throw new Error('wrapped and lost the cause'); // BUG: callers cannot recognise the cancellation
    }
  });
  assert.equal(result.failures.length, 1);
  assert.equal(result.failures[0]!.point, 1);
  assert.match(result.failures[0]!.reason, /rejected with Error: wrapped and lost the cause instead of a context error/);
  assert.match(result.failures[0]!.origin ?? '', new RegExp(THIS_FILE));
  assert.ok(result.failures[0]!.error instanceof Error);
});

test('an unhandled rejection caused by the cancellation is caught (and does not fail the surrounding test)', async () => {
  const result = await exploreCancellation(async (ctx) => {
    const background_ = sleep(ctx, 5); // BUG: awaited only on the happy path
    await sleep(ctx, 1);
    await background_;
  });
  assert.equal(result.points, 1, 'both sleeps start in one synchronous stretch');
  const unhandled = result.failures.filter((f) => /unhandled rejection: AbortError: context canceled/.test(f.reason));
  assert.deepEqual(
    unhandled.map((f) => f.point),
    [1],
  );
});

test('zombie work is caught: work that ignores ctx keeps running after the cancellation', async () => {
  const gates: Array<{ resolve(): void }> = [];
  try {
    const result = await exploreCancellation(
      async (ctx) => {
        const gate = deferred();
        gates.push(gate);
        const work = track(ctx, gate.promise, 'download'); // BUG: the work cannot be stopped
        await sleep(ctx, 1);
        gate.resolve();
        await race(ctx, work);
      },
      { graceMs: 10 },
    );
    const zombies = result.failures.filter((f) => /zombie work/.test(f.reason));
    assert.deepEqual(
      zombies.map((f) => f.point),
      [1],
    );
    assert.match(zombies[0]!.reason, /'download' still running \d+ ms after its context ended/);
    assert.match(zombies[0]!.origin ?? '', new RegExp(THIS_FILE));
  } finally {
    for (const g of gates) g.resolve();
  }
});

test('invariant() is checked after every run (sync or async, false or throwing)', async () => {
  let inFlight = 0;
  const leaky = async (ctx: Context): Promise<void> => {
    inFlight++;
    await sleep(ctx, 1);
    inFlight--; // BUG: not in a finally
  };
  const invariant = async (): Promise<boolean> => {
    const ok = inFlight === 0;
    inFlight = 0;
    return ok;
  };
  const bad = await exploreCancellation(leaky, { invariant });
  assert.deepEqual(
    bad.failures.map((f) => [f.point, f.reason]),
    [[1, 'invariant() returned false']],
  );

  const fixed = async (ctx: Context): Promise<void> => {
    inFlight++;
    try {
      await sleep(ctx, 1);
    } finally {
      inFlight--;
    }
  };
  await assertCancellationSafe(fixed, { invariant });

  const throwing = await exploreCancellation(fixed, {
    invariant: () => {
      throw new Error('pool not back to size');
    },
  });
  assert.deepEqual(
    throwing.failures.map((f) => f.point),
    [0, 1],
  );
  assert.match(throwing.failures[0]!.reason, /invariant\(\) failed: Error: pool not back to size/);
});

test('Group-based code from core is cancellation-safe', async () => {
  const result = await assertCancellationSafe(async (ctx) => {
    const g = new Group(ctx, { limit: 2 });
    for (let i = 0; i < 3; i++) {
      g.go(async (gctx) => {
        await sleep(gctx, 1 + i);
        await sleep(gctx, 1);
      });
    }
    await g.wait();
  });
  assert.ok(result.points >= 3);
});

test('maxPoints spreads the cancelled runs evenly over the points, first and last included', async () => {
  const result = await exploreCancellation(
    async (ctx) => {
      for (let i = 0; i < 10; i++) await sleep(ctx, 0);
    },
    { maxPoints: 3 },
  );
  assert.equal(result.points, 10);
  assert.deepEqual(result.explored, [1, 6, 10]);
});

test('points a re-run never reaches are reported as unreached (non-deterministic fn)', async () => {
  let calls = 0;
  const result = await exploreCancellation(async (ctx) => {
    const n = calls++ === 0 ? 3 : 1;
    for (let i = 0; i < n; i++) await sleep(ctx, 0);
  });
  assert.equal(result.points, 3);
  assert.deepEqual(result.unreached, [2, 3]);
});

test('code that never uses ctx makes no point: assertCancellationSafe refuses unless allowNoPoints', async () => {
  const ignoresCtx = async (): Promise<number> => 42;
  await assert.rejects(assertCancellationSafe(ignoresCtx), /made no cancellation point/);
  const r = await assertCancellationSafe(ignoresCtx, { allowNoPoints: true });
  assert.equal(r.points, 0);
});

test('a synchronous throw in fn is a failure like a rejection', async () => {
  const result = await exploreCancellation(() => {
    throw new RangeError('sync');
  });
  assert.match(result.failures[0]!.reason, /rejected with RangeError: sync instead of a context error/);
});

test('bad arguments get a clear error; explorations cannot overlap', async () => {
  await assert.rejects(exploreCancellation(undefined as never), /fn must be a function/);
  await assert.rejects(exploreCancellation(correct, { maxPoints: 0 }), /maxPoints must be an integer >= 1, got 0/);
  await assert.rejects(exploreCancellation(correct, { timeoutMs: -5 }), /timeoutMs must be a finite number > 0/);
  await assert.rejects(exploreCancellation(correct, { invariant: 3 as never }), /invariant must be a function/);
  const first = exploreCancellation(correct);
  await assert.rejects(exploreCancellation(correct), /another exploration is running/);
  assert.deepEqual((await first).failures, []);
});

test('the explorer leaves no context of its own behind and restores the unhandledRejection listeners', async () => {
  const before = process.listeners('unhandledRejection');
  const outer = withCancel(background());
  await exploreCancellation(correct);
  assert.deepEqual(process.listeners('unhandledRejection'), before);
  outer.cancel();
});
