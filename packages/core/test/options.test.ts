import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertKnownOptions, background, Group } from '@ctxkit/core';

test('assertKnownOptions: a misspelt option is a TypeError naming it, the near name and the known ones', () => {
  assert.throws(
    () => assertKnownOptions({ timeoutMz: 5 }, ['timeoutMs', 'maxTimeoutMs'], 'contextFromRequest'),
    (e: Error) =>
      e instanceof TypeError &&
      e.message === "contextFromRequest: unknown option 'timeoutMz' (did you mean 'timeoutMs'?); known options: timeoutMs, maxTimeoutMs",
  );
  assert.throws(
    () => assertKnownOptions({ colour: 'red' }, ['limit'], 'Group'),
    /^TypeError: Group: unknown option 'colour'; known options: limit$/,
  );
  assertKnownOptions({ timeoutMs: 1, maxTimeoutMs: undefined }, ['timeoutMs', 'maxTimeoutMs'], 'f'); // known keys pass
  assertKnownOptions({ other: undefined }, ['timeoutMs'], 'f'); // an undefined value sets nothing: tolerated
});

test('Group rejects an unknown option', () => {
  assert.throws(() => new Group(background(), { limt: 2 } as never), /Group: unknown option 'limt' \(did you mean 'limit'\?\)/);
  assert.throws(() => new Group(background(), null as never), /Group: options must be an object, got null/);
});
