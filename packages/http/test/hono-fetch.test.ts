// The Hono adapter where there is no node:http request (Bun, Deno, Workers, `app.request()`,
// `app.fetch(new Request(…))`): the context comes from the Request, its headers and its signal.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { cause, sleep, type Context } from '@ctxkit/core';
import { current } from '@ctxkit/core/node';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { ClientDisconnectedError, ResponseFinishedError } from '@ctxkit/http';
import { contextErrorHandler, contextMiddleware, getContext, withRequestContext } from '@ctxkit/http/hono';
import { closeAll, deferred, rawRequest, serve } from './helpers.js';

leakCheckAfterAll(after);
afterEach(closeAll);

/** An app with the adapter and ctxkit's error handler; `errors` collects what reached console.error. */
function makeApp(wrap: 'middleware' | 'withRequestContext', options?: { timeoutMs?: number }) {
  const app = new Hono();
  const answered: number[] = [];
  const onError = contextErrorHandler();
  app.onError(async (e, c) => {
    const res = await onError(e, c);
    answered.push(res.status);
    return res;
  });
  if (wrap === 'middleware') app.use(contextMiddleware(options));
  const fetch = wrap === 'middleware' ? app.fetch : withRequestContext(app.fetch, options);
  return { app, answered, fetch: (r: Request) => Promise.resolve(fetch(r, undefined as never)) };
}

/** Records console.error calls (Hono's default error handler logs there) until `restore()`. */
function captureErrors(): { calls: unknown[][]; restore(): void } {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    calls.push(args);
  };
  return {
    calls,
    restore() {
      console.error = original;
    },
  };
}

for (const wrap of ['middleware', 'withRequestContext'] as const) {
  test(`hono ${wrap}, no Node request: app.fetch(new Request) — a context from the Request, bound, ended once the body is read`, async () => {
    const clock = useManualClock();
    try {
      const { app, fetch } = makeApp(wrap);
      let seen: { ctx: Context; bound: boolean } | undefined;
      app.get('/x', (c) => {
        const ctx = getContext(c);
        seen = { ctx, bound: current() === ctx };
        return c.text('live');
      });
      const res = await fetch(new Request('http://h/x', { headers: { 'ctxkit-timeout-ms': '250' } }));
      assert.equal(res.status, 200);
      assert.ok(seen !== undefined);
      assert.equal(seen.bound, true, 'current() is the request context');
      assert.equal(seen.ctx.deadline, clock.now() + 250, 'the inbound budget applies');
      assert.equal(seen.ctx.err, undefined, 'live until the runtime has read the body');
      assert.equal(await res.text(), 'live');
      await seen.ctx.done;
      assert.ok(cause(seen.ctx) instanceof ResponseFinishedError);
    } finally {
      clock.restore();
    }
  });

  test(`hono ${wrap}, no Node request: the Request's signal aborts → ClientDisconnectedError, an empty 499, nothing logged`, async () => {
    const errors = captureErrors();
    try {
      const { app, answered, fetch } = makeApp(wrap);
      const running = deferred<Context>();
      app.get('/x', async (c) => {
        const ctx = getContext(c);
        running.resolve(ctx);
        await sleep(ctx, 60_000);
        return c.text('unreachable');
      });
      const client = new AbortController();
      const res = fetch(new Request('http://h/x', { signal: client.signal }));
      const ctx = await running.promise;
      client.abort();
      const r = await res;
      assert.ok(cause(ctx) instanceof ClientDisconnectedError);
      assert.equal(r.status, 499);
      assert.equal(await r.text(), '');
      assert.deepEqual(answered, [499]);
      assert.deepEqual(errors.calls, []);
    } finally {
      errors.restore();
    }
  });

  test(`hono ${wrap}, no Node request: the deadline passes → 504 problem+json; a malformed header → 400 problem+json`, async () => {
    const clock = useManualClock();
    try {
      const { app, fetch } = makeApp(wrap, { timeoutMs: 1000 });
      const sleeping = deferred();
      app.get('/slow', async (c) => {
        const p = sleep(getContext(c), 60_000);
        sleeping.resolve();
        await p;
        return c.text('late');
      });
      const res = fetch(new Request('http://h/slow'));
      await sleeping.promise;
      await clock.advance(1000);
      const r = await res;
      assert.equal(r.status, 504);
      assert.equal(r.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await r.json()) as { title: string }).title, 'Gateway Timeout');
      const bad = await fetch(new Request('http://h/slow', { headers: { 'grpc-timeout': '5x' } }));
      assert.equal(bad.status, 400);
      assert.equal(bad.headers.get('content-type'), 'application/problem+json');
      assert.equal(((await bad.json()) as { header: string }).header, 'grpc-timeout');
    } finally {
      clock.restore();
    }
  });
}

test('hono middleware: app.request() works without any server', async () => {
  const app = new Hono();
  app.use(contextMiddleware());
  app.get('/', (c) => c.text(getContext(c).err === undefined ? 'live' : 'ended'));
  const r = await app.request('/');
  assert.equal(await r.text(), 'live');
});

test('hono middleware on a fetch-only server over loopback (no env): the client leaving ends the context', async () => {
  const errors = captureErrors();
  try {
    const app = new Hono();
    app.use(contextMiddleware());
    app.onError(contextErrorHandler());
    const running = deferred<Context>();
    app.get('/x', async (c) => {
      const ctx = getContext(c);
      running.resolve(ctx);
      await sleep(ctx, 60_000);
      return c.text('unreachable');
    });
    // The handler sees a Request only, as on Bun or Deno: the node:http objects are not passed on.
    const s = await serve(createAdaptorServer({ fetch: (request: Request) => app.fetch(request) }) as http.Server);
    const client = await rawRequest(s.port, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
    const ctx = await running.promise;
    client.destroy();
    await ctx.done;
    assert.ok(cause(ctx) instanceof ClientDisconnectedError);
    await s.close();
    assert.deepEqual(errors.calls, []);
  } finally {
    errors.restore();
  }
});

test('hono: getContext without the adapter is a TypeError saying what to install', () => {
  assert.throws(
    () => getContext(new Request('http://h/')),
    /getContext \(hono\): this request has no context — app\.use\(contextMiddleware\(\)\)/,
  );
});
