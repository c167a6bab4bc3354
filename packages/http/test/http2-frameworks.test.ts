// HTTP/2 request contexts under every binding — node:http2's 'stream' event and compatibility API,
// Fastify with `http2: true`, Hono on @hono/node-server's HTTP/2 server (middleware and
// withRequestContext) — against a real node:http2 client on loopback: a client's RST_STREAM
// mid-handler, the session going away, a graceful GOAWAY, the budget, and what is left behind on
// a long-lived session (listeners, timers, contexts).
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import { CanceledError, DeadlineExceededError, cause, sleep, type Context } from '@ctxkit/core';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import Fastify from 'fastify';
import { ResponseFinishedError, SessionClosedError, StreamResetError } from '@ctxkit/http';
import { contextErrorHandler, contextPlugin, getContext } from '@ctxkit/http/fastify';
import { deferred, tally } from './helpers.js';
import { closeAllH2, closed, connect, open, request, serveH2 } from './http2-helpers.js';
import { H2_KINDS, serveRoutes, slots, type Arrival } from './http2-apps.js';

const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAllH2);

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR } = http2.constants;
const OK = { status: 200, body: 'ok' };

/** Routes `/wait` (reports its arrival, then sleeps on ctx and rethrows what ended it) and `/ok`. */
function waitingRoutes() {
  const arrived = slots<Arrival>();
  const ended = slots<{ ctx: Context; err: unknown }>();
  const routes = {
    '/wait': async (a: Arrival): Promise<string> => {
      arrived.resolve(a.path, a);
      const err = await sleep(a.ctx, 120_000).catch((e: unknown) => e);
      ended.resolve(a.path, { ctx: a.ctx, err });
      throw err;
    },
    '/ok': async (): Promise<string> => 'ok',
  };
  return { routes, arrived: arrived.get, ended: ended.get };
}

for (const kind of H2_KINDS) {
  test(`${kind}: RST_STREAM mid-handler → StreamResetError with its code; timers and listeners gone; the session serves the next stream`, async () => {
    const clock = useManualClock();
    try {
      const w = waitingRoutes();
      const s = await serveRoutes(kind, w.routes, { timeoutMs: 60_000 });
      const c = await connect(s.port);
      assert.deepEqual(await request(c.session, { ':path': '/ok' }), OK);
      for (const [n, code] of [
        [1, NGHTTP2_CANCEL],
        [2, NGHTTP2_INTERNAL_ERROR], // emitted as a stream 'error' on the server: must not crash it
      ] as const) {
        const path = `/wait?n=${n}`;
        const req = open(c.session, { ':path': path });
        const a = await w.arrived(path);
        assert.ok(clock.pending() >= 2, 'the deadline and the sleep are scheduled');
        req.close(code);
        const { ctx, err } = await w.ended(path);
        assert.ok(ctx.err instanceof CanceledError);
        assert.equal(err, ctx.err, 'work on ctx rejected with ctx.err itself');
        const why = cause(ctx);
        assert.ok(why instanceof StreamResetError, `${path}: ${String(why)}`);
        assert.equal(why.code, code);
        assert.equal(clock.pending(), 0, 'the deadline timer went with the context');
        assert.equal(await s.addedListeners(a.stream), 0, 'no listener left on the closed stream');
        if (a.signal !== undefined) assert.equal(a.signal.aborted, true, "Hono's c.req.raw.signal aborted too");
      }
      assert.deepEqual(await request(c.session, { ':path': '/ok' }), OK);
      assert.equal(s.sessions.length, 1, 'one session served every stream');
    } finally {
      clock.restore();
    }
  });

  test(`${kind}: the session goes away → SessionClosedError (GOAWAY with an error code; the connection dropping under several streams)`, async () => {
    const w = waitingRoutes();
    const s = await serveRoutes(kind, w.routes);
    const c = await connect(s.port);
    open(c.session, { ':path': '/wait?calm' });
    await w.arrived('/wait?calm');
    c.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    const why = cause((await w.ended('/wait?calm')).ctx);
    assert.ok(why instanceof SessionClosedError, String(why));
    assert.equal(why.code, NGHTTP2_ENHANCE_YOUR_CALM);

    const c2 = await connect(s.port);
    const paths = ['/wait?1', '/wait?2', '/wait?3'];
    for (const p of paths) open(c2.session, { ':path': p });
    await Promise.all(paths.map((p) => w.arrived(p)));
    c2.socket.destroy(); // the client process went away
    for (const p of paths) {
      const { ctx, err } = await w.ended(p);
      assert.equal(err, ctx.err);
      assert.ok(cause(ctx) instanceof SessionClosedError, `${p}: ${String(cause(ctx))}`);
    }
  });

  test(`${kind}: a graceful GOAWAY ends nothing; the response sent ends the context with ResponseFinishedError`, async () => {
    const entered = deferred();
    const release = deferred();
    const seen = deferred<{ ctx: Context; before: unknown }>();
    const s = await serveRoutes(kind, {
      '/slow': async (a) => {
        entered.resolve();
        await release.promise;
        seen.resolve({ ctx: a.ctx, before: a.ctx.err });
        return 'finished';
      },
    });
    const c = await connect(s.port);
    const reply = request(c.session, { ':path': '/slow' });
    await entered.promise;
    const server = s.sessions[0]!;
    c.session.close(); // GOAWAY(NO_ERROR): the client still waits for /slow
    await once(server, 'goaway');
    release.resolve();
    assert.deepEqual(await reply, { status: 200, body: 'finished' });
    const { ctx, before } = await seen.promise;
    assert.equal(before, undefined, 'the graceful GOAWAY did not end the context');
    await ctx.done;
    assert.ok(cause(ctx) instanceof ResponseFinishedError, String(cause(ctx)));
  });

  test(`${kind}: the inbound budget runs out mid-handler → DeadlineExceededError, answered 504`, async () => {
    const clock = useManualClock();
    try {
      const w = waitingRoutes();
      const s = await serveRoutes(kind, w.routes);
      const c = await connect(s.port);
      const reply = request(c.session, { ':path': '/wait?budget', 'ctxkit-timeout-ms': '250' });
      const a = await w.arrived('/wait?budget');
      assert.equal(a.ctx.deadline, clock.now() + 250);
      await clock.advance(250);
      const { ctx, err } = await w.ended('/wait?budget');
      assert.ok(ctx.err instanceof DeadlineExceededError);
      assert.equal(err, ctx.err);
      assert.equal((await reply).status, 504);
    } finally {
      clock.restore();
    }
  });

  test(`${kind}: many streams on one long-lived session, some reset: session listeners constant, no context left`, async () => {
    const liveBefore = t.live();
    const w = waitingRoutes();
    const s = await serveRoutes(kind, w.routes);
    const c = await connect(s.port);
    assert.deepEqual(await request(c.session, { ':path': '/ok' }), OK);
    const session = s.sessions[0]!;
    const listeners = () => Object.fromEntries(session.eventNames().map((e) => [String(e), session.listenerCount(e)]));
    const baseline = listeners();
    const resetOne = async (path: string): Promise<void> => {
      const req = open(c.session, { ':path': path });
      await w.arrived(path);
      req.close(NGHTTP2_CANCEL);
      await closed(req);
      assert.ok(cause((await w.ended(path)).ctx) instanceof StreamResetError);
    };
    for (let round = 0; round < 5; round++) {
      const batch: Array<Promise<unknown>> = [];
      for (let i = 0; i < 20; i++) batch.push(request(c.session, { ':path': '/ok' }));
      for (let i = 0; i < 5; i++) batch.push(resetOne(`/wait?r=${round}-${i}`));
      await Promise.all(batch);
      assert.deepEqual(listeners(), baseline, `round ${round}`);
    }
    assert.equal(s.sessions.length, 1);
    await closeAllH2();
    assert.equal(t.live(), liveBefore, 'every request context ended');
  });
}

test('fastify http2: true: getContext takes the HTTP/2 request and its raw Http2ServerRequest; an own error handler delegates to contextErrorHandler', async () => {
  const clock = useManualClock();
  try {
    const app = Fastify({ http2: true });
    await app.register(contextPlugin, { errorHandler: false });
    const ctxkitErrors = contextErrorHandler<http2.Http2Server>();
    app.setErrorHandler((error, request, reply) => ctxkitErrors(error, request, reply));
    const seen = deferred<{ same: boolean; ctx: Context }>();
    app.get('/slow', async (request) => {
      seen.resolve({ same: getContext(request) === request.ctx && getContext(request.raw) === request.ctx, ctx: request.ctx });
      await sleep(request.ctx, 60_000);
      return 'too late';
    });
    await app.ready();
    const s = await serveH2(app.server);
    const c = await connect(s.port);
    const reply = request(c.session, { ':path': '/slow', 'ctxkit-timeout-ms': '100' });
    const { same, ctx } = await seen.promise;
    assert.equal(same, true);
    await clock.advance(100);
    const r = await reply;
    assert.equal(r.status, 504);
    assert.equal(JSON.parse(r.body).code, 'CTXKIT_DEADLINE_EXCEEDED');
    assert.ok(ctx.err instanceof DeadlineExceededError);
  } finally {
    clock.restore();
  }
});
