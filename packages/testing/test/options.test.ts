import assert from 'node:assert/strict';
import { test } from 'node:test';

import { exploreCancellation, trackContexts } from '@ctxkit/testing';

test('a misspelt option of trackContexts or exploreCancellation is a TypeError naming it', async () => {
  assert.throws(() => trackContexts({ gracems: 10 } as never), /trackContexts: unknown option 'gracems' \(did you mean 'graceMs'\?\)/);
  await assert.rejects(
    async () => exploreCancellation(async () => {}, { maxPoint: 3 } as never),
    /unknown option 'maxPoint' \(did you mean 'maxPoints'\?\)/,
  );
});
