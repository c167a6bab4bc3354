// The same four behaviours, checked on every framework adapter against real servers on loopback:
// client leaves mid-processing (and the downstream call is aborted on the far side), a large
// POST read completely is not cancelled, leaving during the upload cancels, keep-alive is clean.
import { test, after, afterEach } from 'node:test';
import { leakCheckAfterAll } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { CanceledError, cause, type Context } from '@ctxkit/core';
import { current } from '@ctxkit/core/node';
import { ClientDisconnectedError, ResponseFinishedError, contextFromRequest, contextHandler, ctxFetch } from '@ctxkit/http';
import * as ex from '@ctxkit/http/express';
import fastifyPlugin, * as fa from '@ctxkit/http/fastify';
import * as ko from '@ctxkit/http/koa';
import * as ho from '@ctxkit/http/hono';
import { closeAll, deferred, rawRequest, serve, tally, type Served } from './helpers.js';

const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

/** What each framework's routes do, framework-neutrally. */
interface Routes {
  /** Called by a middleware right after the adapter's, for every request. */
  seen(url: string, ctx: Context, raw: http.IncomingMessage): void;
  /** GET /work */
  work(ctx: Context): Promise<string>;
  /** POST /upload, after the whole body (n bytes) was read. */
  afterUpload(ctx: Context, raw: http.IncomingMessage, n: number): Promise<string>;
}

interface Framework {
  name: string;
  start(r: Routes): Promise<Served>;
}

async function readAll(req: http.IncomingMessage): Promise<number> {
  let n = 0;
  for await (const c of req) n += (c as Buffer).length;
  return n;
}

/** The routes both Hono variants (middleware, `withRequestContext`) serve. */
function honoRoutes(app: Hono, r: Routes): void {
  app.use(async (c, next) => {
    const raw = (c.env as { incoming: http.IncomingMessage }).incoming;
    r.seen(raw.url ?? '', ho.getContext(c), raw);
    await next();
  });
  app.get('/work', async (c) => c.text(await r.work(ho.getContext(c))));
  app.post('/upload', async (c) => {
    const n = (await c.req.arrayBuffer()).byteLength;
    return c.text(await r.afterUpload(ho.getContext(c), (c.env as { incoming: http.IncomingMessage }).incoming, n));
  });
  app.get('/ok', (c) => c.text('ok'));
}

const frameworks: Framework[] = [
  {
    name: 'express',
    async start(r) {
      const app = express();
      app.use(ex.contextMiddleware());
      app.use((req, _res, next) => {
        r.seen(req.url, ex.getContext(req), req);
        next();
      });
      app.get('/work', async (req, res) => {
        res.send(await r.work(ex.getContext(req)));
      });
      app.post('/upload', async (req, res) => {
        const n = await readAll(req);
        res.send(await r.afterUpload(ex.getContext(req), req, n));
      });
      app.get('/ok', (_req, res) => {
        res.send('ok');
      });
      return serve(http.createServer(app));
    },
  },
  {
    name: 'fastify',
    async start(r) {
      const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
      await app.register(fastifyPlugin, {});
      app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      app.addHook('onRequest', (request, _reply, done) => {
        r.seen(request.url, fa.getContext(request), request.raw);
        done();
      });
      app.get('/work', async (request) => r.work(fa.getContext(request)));
      app.post('/upload', async (request) => r.afterUpload(fa.getContext(request), request.raw, (request.body as Buffer).length));
      app.get('/ok', async () => 'ok');
      await app.ready();
      return serve(app.server);
    },
  },
  {
    name: 'koa',
    async start(r) {
      const app = new Koa();
      app.use(ko.contextMiddleware());
      app.use(async (kctx, next) => {
        r.seen(kctx.url, ko.getContext(kctx), kctx.req);
        await next();
      });
      app.use(async (kctx) => {
        if (kctx.path === '/work') kctx.body = await r.work(ko.getContext(kctx));
        else if (kctx.path === '/upload') {
          const n = await readAll(kctx.req);
          kctx.body = await r.afterUpload(ko.getContext(kctx), kctx.req, n);
        } else kctx.body = 'ok';
      });
      return serve(http.createServer(app.callback()));
    },
  },
  {
    name: 'hono',
    async start(r) {
      const app = new Hono();
      app.use(ho.contextMiddleware());
      honoRoutes(app, r);
      return serve(createAdaptorServer({ fetch: app.fetch }) as http.Server);
    },
  },
  {
    name: 'hono (withRequestContext)',
    async start(r) {
      const app = new Hono();
      honoRoutes(app, r);
      return serve(createAdaptorServer({ fetch: ho.withRequestContext(app.fetch) }) as http.Server);
    },
  },
];

/** The third server: holds each request open and reports when (and why) its context ended. */
async function downstream() {
  const got = deferred();
  const ended = deferred<unknown>();
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      got.resolve();
      void scope.ctx.done.then(() => ended.resolve(cause(scope.ctx)));
    }),
  );
  return { ...s, got, ended };
}

for (const fw of frameworks) {
  test(`${fw.name}: client leaves mid-processing → ClientDisconnectedError; the downstream ctxFetch is aborted on the far side`, async () => {
    const c = await downstream();
    const result = deferred<{ ctx: Context; fetchError: unknown; bound: boolean }>();
    const s = await fw.start({
      seen() {},
      async work(ctx) {
        const bound = current() === ctx;
        try {
          await ctxFetch(ctx, c.url);
        } catch (e) {
          result.resolve({ ctx, fetchError: e, bound });
        }
        return 'unreachable';
      },
      async afterUpload() {
        return '';
      },
    });
    const client = await rawRequest(s.port, 'GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.got.promise;
    client.destroy();
    const { ctx, fetchError, bound } = await result.promise;
    assert.equal(bound, true, 'current() is the request context inside the handler');
    assert.ok(ctx.err instanceof CanceledError);
    assert.ok(cause(ctx) instanceof ClientDisconnectedError);
    assert.equal(fetchError, ctx.err);
    assert.ok((await c.ended.promise) instanceof ClientDisconnectedError, 'the third server saw its client leave');
    await s.close();
    await c.close();
  });

  test(`${fw.name}: a large POST read completely, then slow work — NOT cancelled while the client waits`, async () => {
    const seen = deferred<{ err: unknown; bound: boolean; endCause: Promise<unknown> }>();
    const s = await fw.start({
      seen() {},
      async work() {
        return '';
      },
      async afterUpload(ctx, raw, n) {
        if (!raw.destroyed) await once(raw, 'close'); // req 'close' has fired: the classic trap
        await new Promise((resolve) => setImmediate(resolve));
        seen.resolve({ err: ctx.err, bound: current() === ctx, endCause: ctx.done.then(() => cause(ctx)) });
        return String(n);
      },
    });
    const body = Buffer.alloc(2 * 1024 * 1024, 7);
    const res = await fetch(`${s.url}/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(await res.text(), String(body.length));
    const { err, bound, endCause } = await seen.promise;
    assert.equal(err, undefined);
    assert.equal(bound, true, 'current() holds after the body was parsed');
    assert.ok((await endCause) instanceof ResponseFinishedError);
    await s.close();
  });

  test(`${fw.name}: client leaves during the upload → cancelled`, async () => {
    const ctxSeen = deferred<Context>();
    const s = await fw.start({
      seen(url, ctx) {
        if (url === '/upload') ctxSeen.resolve(ctx);
      },
      async work() {
        return '';
      },
      async afterUpload() {
        return 'unexpected';
      },
    });
    const sock = await rawRequest(
      s.port,
      'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n',
      Buffer.alloc(100_000, 1),
    );
    const ctx = await ctxSeen.promise;
    sock.destroy();
    await ctx.done;
    assert.ok(cause(ctx) instanceof ClientDisconnectedError);
    await s.close();
  });

  test(`${fw.name}: keep-alive — each request ends with its own response, the next one untouched`, async () => {
    const ctxs: Context[] = [];
    const liveAtStart: boolean[] = [];
    const listeners: number[] = [];
    const s = await fw.start({
      seen(_url, ctx, raw) {
        liveAtStart.push(ctx.err === undefined && ctxs.every((c) => c.err !== undefined));
        ctxs.push(ctx);
        listeners.push(raw.socket.listenerCount('close'));
      },
      async work() {
        return '';
      },
      async afterUpload() {
        return '';
      },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 4; i++) {
      await new Promise<void>((resolve, reject) => {
        http
          .get(`${s.url}/ok`, { agent }, (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject);
      });
    }
    agent.destroy();
    assert.equal(sockets.size, 1);
    assert.deepEqual(liveAtStart, [true, true, true, true]);
    assert.equal(new Set(listeners).size, 1, `socket 'close' listeners constant: ${listeners}`);
    for (const c of ctxs) {
      await c.done;
      assert.ok(cause(c) instanceof ResponseFinishedError);
    }
    await s.close();
  });

  test(`${fw.name}: a malformed budget header is answered 400 naming the header`, async () => {
    const s = await fw.start({
      seen() {},
      async work() {
        return '';
      },
      async afterUpload() {
        return '';
      },
    });
    const res = await fetch(`${s.url}/ok`, { headers: { 'ctxkit-timeout-ms': 'soon' } });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /ctxkit-timeout-ms/);
    await s.close();
  });
}

test('current: false — getContext still works, current() is left unbound (no AsyncLocalStorage cost)', async () => {
  const seen = deferred<{ same: boolean; unbound: boolean }>();
  const app = express();
  app.use(ex.contextMiddleware({ current: false }));
  app.get('/', (req, res) => {
    const ctx = ex.getContext(req);
    seen.resolve({ same: ctx.err === undefined, unbound: current() !== ctx });
    res.send('ok');
  });
  const s = await serve(http.createServer(app));
  await (await fetch(s.url)).text();
  assert.deepEqual(await seen.promise, { same: true, unbound: true });
  await s.close();
});

test('nested bindings share one context: contextHandler around an Express app with the middleware', async () => {
  const seen = deferred<boolean>();
  const app = express();
  app.use(ex.contextMiddleware());
  let outer: Context | undefined;
  app.get('/', (req, res) => {
    seen.resolve(ex.getContext(req) === outer);
    res.send('ok');
  });
  const s = await serve(
    http.createServer(
      contextHandler((ctx, req, res) => {
        outer = ctx;
        app(req as express.Request, res as express.Response);
      }),
    ),
  );
  await (await fetch(s.url)).text();
  assert.equal(await seen.promise, true);
  await s.close();
});

test('contextHandler around an Express app (the faster binding) serves getContext(req) and current() without the middleware', async () => {
  const seen = deferred<{ same: boolean; bound: boolean }>();
  const app = express();
  let outer: Context | undefined;
  app.get('/', (req, res) => {
    const ctx = ex.getContext(req);
    seen.resolve({ same: ctx === outer, bound: current() === ctx });
    res.send('ok');
  });
  const s = await serve(
    http.createServer(
      contextHandler((ctx, req, res) => {
        outer = ctx;
        app(req as express.Request, res as express.Response);
      }),
    ),
  );
  assert.equal(await (await fetch(s.url)).text(), 'ok');
  assert.deepEqual(await seen.promise, { same: true, bound: true });
  await s.close();
});

test('getContext without the middleware is a TypeError that says what to install', () => {
  const req = new http.IncomingMessage(null as never);
  assert.throws(() => ex.getContext(req), /contextMiddleware/);
  assert.throws(() => fa.getContext(req), /contextMiddleware/);
  assert.throws(() => ko.getContext(req), /contextMiddleware/);
  assert.throws(() => ho.getContext(req), /contextMiddleware/);
});

test('no context nor operation left running', () => {
  assert.deepEqual(t.liveKinds(), []);
  assert.deepEqual(t.openOps(), []);
});
