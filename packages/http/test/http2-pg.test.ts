// A client that resets its HTTP/2 stream stops the handler's PostgreSQL statement in the server:
// under every HTTP/2 binding (node:http2's 'stream' event and compatibility API, Fastify with
// `http2: true`, Hono on @hono/node-server's HTTP/2 server) the handler runs `SELECT pg_sleep(30)`
// through @ctxkit/pg with the request's context; pg_stat_activity shows the statement gone, the
// pool is back at rest, and the same session serves the next stream.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type pg from 'pg';
import { CanceledError, cause, type Context } from '@ctxkit/core';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { wrapPool } from '@ctxkit/pg';
import { StreamResetError } from '@ctxkit/http';
import { tally } from './helpers.js';
import { closeAllH2, connect, open, request } from './http2-helpers.js';
import { H2_KINDS, serveRoutes, slots } from './http2-apps.js';
import { appName, makePool, openTestDatabase, waitActive, waitFor, waitNoneActive } from './pg-helpers.js';

const database = await openTestDatabase('@ctxkit/http HTTP/2 + PostgreSQL tests');
const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAllH2);

const { NGHTTP2_CANCEL } = http2.constants;

describe("a client RST_STREAM stops the request's statement in PostgreSQL", {
  skip: database === undefined ? 'no PostgreSQL (see the line above)' : false,
}, () => {
  const adminName = appName('h2-admin');
  let admin: pg.Pool;
  before(() => {
    admin = makePool(database!, adminName);
  });
  after(async () => {
    await admin?.end();
    await database?.stop();
  });

  for (const [i, kind] of H2_KINDS.entries()) {
    test(`${kind}: reset mid-statement → the backend stops pg_sleep, the pool is at rest, the session serves the next stream`, async () => {
      const app = appName(`h2-${i}`);
      const pool = makePool(database!, app);
      const db = wrapPool(pool);
      try {
        const ended = slots<{ ctx: Context; err: unknown }>();
        const s = await serveRoutes(kind, {
          '/report': async (a) => {
            const err = await db.query(a.ctx, 'SELECT pg_sleep(30)').then(
              () => new Error('pg_sleep(30) ran to its end'),
              (e: unknown) => e,
            );
            ended.resolve(a.path, { ctx: a.ctx, err });
            throw err;
          },
          '/one': async (a) => String((await db.query(a.ctx, 'SELECT 1 AS one')).rows[0]?.one),
        });
        const c = await connect(s.port);
        const req = open(c.session, { ':path': '/report' });
        const running = await waitActive(admin, app, 'pg_sleep');
        req.close(NGHTTP2_CANCEL);

        const { ctx, err } = await ended.get('/report');
        assert.ok(ctx.err instanceof CanceledError);
        assert.equal(err, ctx.err, 'the query rejected with ctx.err itself');
        assert.ok(cause(ctx) instanceof StreamResetError, String(cause(ctx)));

        // The far side: the statement no longer runs, and its connection was kept (cancelled
        // cleanly, then health-checked) rather than destroyed.
        const now = await waitNoneActive(admin, app);
        assert.ok(
          now.some((b) => b.pid === running.pid && b.state === 'idle'),
          `backend ${running.pid} idle: ${JSON.stringify(now)}`,
        );
        await waitFor('the pool at rest', () => (pool.totalCount === pool.idleCount && pool.waitingCount === 0 ? true : undefined));
        assert.deepEqual(t.openOps(), [], 'no pg operation left open');

        assert.deepEqual(await request(c.session, { ':path': '/one' }), { status: 200, body: '1' });
        assert.equal(s.sessions.length, 1, 'the same session served the next stream');
      } finally {
        await closeAllH2();
        await pool.end();
      }
    });
  }
});
