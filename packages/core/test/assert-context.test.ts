import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertContext, background, sleep, withCancel } from '@ctxkit/core';
import { runWith } from '@ctxkit/core/node';

test('assertContext: one message for a missing or foreign context, naming the argument and what was given', () => {
  assertContext(background(), 'x: ctx'); // a real context passes
  for (const [value, got] of [
    [undefined, 'undefined'],
    [null, 'null'],
    [{}, 'an Object'],
    [new AbortController().signal, 'an AbortSignal'],
  ] as const) {
    assert.throws(
      () => assertContext(value, 'doThing: ctx'),
      (e: Error) =>
        e instanceof TypeError &&
        e.message === `doThing: ctx must be a Context from @ctxkit/core (use background() at the top), got ${got}`,
    );
  }
});

test('core functions give that same message', () => {
  assert.throws(
    () => withCancel({} as never),
    /^TypeError: withCancel: parent must be a Context from @ctxkit\/core \(use background\(\) at the top\), got an Object$/,
  );
  assert.throws(
    () => sleep(null as never, 1),
    /^TypeError: sleep: ctx must be a Context from @ctxkit\/core \(use background\(\) at the top\), got null$/,
  );
  assert.throws(
    () => runWith(undefined as never, () => 0),
    /^TypeError: runWith: ctx must be a Context from @ctxkit\/core \(use background\(\) at the top\), got undefined$/,
  );
});
