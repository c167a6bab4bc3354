import assert from 'node:assert/strict';
import { test } from 'node:test';

// The test runner resolves the workspace packages to their TypeScript sources (the `source`
// export condition), so a test run after an edit never exercises a stale build in dist/.
test('tests import the packages from src, not from a build in dist', () => {
  for (const spec of ['@ctxkit/core', '@ctxkit/core/node', '@ctxkit/core/diagnostics', '@ctxkit/testing', '@ctxkit/http', '@ctxkit/pg']) {
    const url = import.meta.resolve(spec);
    assert.match(url, /\/packages\/[a-z-]+\/src\/[a-z-]+\.ts$/, `${spec} resolved to ${url}`);
  }
});
