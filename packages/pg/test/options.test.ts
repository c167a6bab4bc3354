import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wrapClient, wrapPool } from '@ctxkit/pg';
import pg from 'pg';

test('a misspelt option of wrapPool or wrapClient is a TypeError naming it (checked before any connection)', async () => {
  const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none', max: 1 });
  try {
    assert.throws(
      () => wrapPool(pool, { cleanupTimeoutMS: 10 } as never),
      /wrapPool: unknown option 'cleanupTimeoutMS' \(did you mean 'cleanupTimeoutMs'\?\)/,
    );
    const client = new pg.Client({ connectionString: 'postgres://127.0.0.1:1/none' });
    assert.throws(
      () => wrapClient(client, { serverTimeOut: false } as never),
      /wrapClient: unknown option 'serverTimeOut' \(did you mean 'serverTimeout'\?\)/,
    );
  } finally {
    await pool.end();
  }
});
