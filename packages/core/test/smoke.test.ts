import { test } from 'node:test';
import assert from 'node:assert/strict';
import { background, withCancel } from '@ctxkit/core';

test('a cancelled child reports CanceledError', () => {
  const s = withCancel(background());
  s.cancel();
  assert.equal(s.ctx.err?.name, 'AbortError');
});
