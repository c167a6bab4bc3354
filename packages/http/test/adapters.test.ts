// The same four behaviours, checked on every framework adapter against real servers on loopback:
// client leaves mid-processing (and the downstream call is aborted on the far side), a large
// POST read completely is not cancelled, leaving during the upload cancels, keep-alive is clean.
import { test, after, afterEach } from 'node:test';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { Hono } from 'hono';
import { createAdaptorServer } from '@hono/node-server';
import { background, CanceledError, cause, sleep, withCancel, type Context } from '@ctxkit/core';
import { current } from '@ctxkit/core/node';
import {
  ClientDisconnectedError,
  ResponseFinishedError,
  contextFromRequest,
  contextHandler,
  ctxFetch,
  getRequestContext,
} from '@ctxkit/http';
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

/** How a framework is started for a test: the adapter's options, and a probe of its error path. */
interface StartOptions {
  /** Options given to the adapter (its middleware, plugin or wrapper). */
  adapter?: { timeoutMs?: number; parent?: Context; canceledStatus?: number };
  /** Called once the framework's error path has answered a failed request, with the status it recorded. */
  answered?(status: number): void;
}

interface Framework {
  name: string;
  start(r: Routes, so?: StartOptions): Promise<Served>;
  /** The body of a context error's answer: RFC 9457 problem details, or Fastify's JSON error format. */
  errorFormat: 'problem' | 'fastify';
}

async function readAll(req: http.IncomingMessage): Promise<number> {
  let n = 0;
  for await (const c of req) n += (c as Buffer).length;
  return n;
}

/** The error options of an adapter's options (the frameworks whose error path takes them separately). */
function errorOptions(so: StartOptions | undefined): { canceledStatus?: number } {
  return so?.adapter?.canceledStatus === undefined ? {} : { canceledStatus: so.adapter.canceledStatus };
}

/** The request options of an adapter's options. */
function requestOptions(so: StartOptions | undefined): { timeoutMs?: number; parent?: Context } {
  const { canceledStatus: _c, ...rest } = so?.adapter ?? {};
  return rest;
}

/** The routes both Hono variants (middleware, `withRequestContext`) serve, and its error handler. */
function honoRoutes(app: Hono, r: Routes, so: StartOptions | undefined): void {
  const onError = ho.contextErrorHandler(errorOptions(so));
  app.onError(async (e, c) => {
    const res = await onError(e, c);
    so?.answered?.(res.status);
    return res;
  });
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
    name: 'node:http (contextHandler)',
    errorFormat: 'problem',
    async start(r, so) {
      async function route(ctx: Context, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        if (req.url === '/work') res.end(await r.work(ctx));
        else if (req.url === '/upload') {
          const n = await readAll(req);
          res.end(await r.afterUpload(ctx, req, n));
        } else res.end('ok');
      }
      return serve(
        http.createServer(
          contextHandler((ctx, req, res) => {
            r.seen(req.url ?? '', ctx, req);
            const p = route(ctx, req, res);
            // contextHandler answers a rejection in a callback of this same promise: by the next
            // macrotask, it has.
            p.then(undefined, () => setImmediate(() => so?.answered?.(res.statusCode)));
            return p;
          }, so?.adapter),
        ),
      );
    },
  },
  {
    name: 'express',
    errorFormat: 'problem',
    async start(r, so) {
      const app = express();
      app.use(ex.contextMiddleware(requestOptions(so)));
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
      const onError = ex.contextErrorHandler(errorOptions(so));
      app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
        onError(err, req, res, next);
        so?.answered?.(res.statusCode);
      });
      return serve(http.createServer(app));
    },
  },
  {
    name: 'fastify',
    errorFormat: 'fastify',
    async start(r, so) {
      // Fastify logs through pino: its error-level lines go to console.error, where the tests look.
      const stream = {
        write(line: string) {
          if ((JSON.parse(line) as { level: number }).level >= 50) console.error(line);
        },
      };
      const app = Fastify({ bodyLimit: 64 * 1024 * 1024, logger: { level: 'warn', stream } });
      await app.register(fastifyPlugin, so?.adapter ?? {});
      app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      app.addHook('onRequest', (request, _reply, done) => {
        assert.equal(request.ctx, fa.getContext(request), 'request.ctx is the request context');
        r.seen(request.url, request.ctx, request.raw);
        done();
      });
      app.addHook('onSend', (_request, reply, payload, done) => {
        if (reply.statusCode >= 400) so?.answered?.(reply.statusCode);
        done(null, payload);
      });
      app.get('/work', async (request) => r.work(request.ctx));
      app.post('/upload', async (request) => r.afterUpload(request.ctx, request.raw, (request.body as Buffer).length));
      app.get('/ok', async () => 'ok');
      await app.ready();
      return serve(app.server);
    },
  },
  {
    name: 'koa',
    errorFormat: 'problem',
    async start(r, so) {
      const app = new Koa();
      app.use(ko.contextMiddleware(so?.adapter));
      app.use(async (kctx, next) => {
        r.seen(kctx.url, ko.getContext(kctx), kctx.req);
        const onerror = kctx.onerror;
        kctx.onerror = function (this: Koa.Context, e: Error) {
          onerror.call(this, e);
          if (e != null) so?.answered?.(this.res.statusCode);
        };
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
    errorFormat: 'problem',
    async start(r, so) {
      const app = new Hono();
      app.use(ho.contextMiddleware(requestOptions(so)));
      honoRoutes(app, r, so);
      return serve(createAdaptorServer({ fetch: app.fetch }) as http.Server);
    },
  },
  {
    name: 'hono (withRequestContext)',
    errorFormat: 'problem',
    async start(r, so) {
      const app = new Hono();
      honoRoutes(app, r, so);
      return serve(createAdaptorServer({ fetch: ho.withRequestContext(app.fetch, requestOptions(so)) }) as http.Server);
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

  test(`${fw.name}: a malformed budget header is answered 400, RFC 9457 problem+json naming the header`, async () => {
    const s = await fw.start(idle());
    const res = await fetch(`${s.url}/ok`, { headers: { 'ctxkit-timeout-ms': 'soon' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.status, 400);
    assert.equal(body.header, 'ctxkit-timeout-ms');
    assert.equal(body.title, 'Malformed propagation header');
    assert.match(String(body.type), /^https:\/\/.+#malformed-propagation-headers$/);
    assert.match(String(body.detail), /ctxkit-timeout-ms header "soon": expected/);
    await s.close();
  });

  test(`${fw.name}: the adapter's deadline passes → 504 in the framework's error path, no stack`, async () => {
    const clock = useManualClock();
    const errors = captureErrors();
    try {
      const sleeping = deferred();
      const answered = deferred<number>();
      const s = await fw.start(
        {
          ...idle(),
          async work(ctx) {
            const p = sleep(ctx, 60_000);
            sleeping.resolve();
            await p;
            return 'late';
          },
        },
        { adapter: { timeoutMs: 1000 }, answered: (st) => answered.resolve(st) },
      );
      const res = fetch(`${s.url}/work`);
      await sleeping.promise;
      await clock.advance(1000);
      const r = await res;
      assert.equal(r.status, 504);
      assertErrorBody(fw, await r.text(), 504, 'Gateway Timeout', 'CTXKIT_DEADLINE_EXCEEDED');
      assert.equal(await answered.promise, 504);
      await s.close();
      assert.deepEqual(errors.calls, [], 'nothing logged as an error');
    } finally {
      errors.restore();
      clock.restore();
    }
  });

  test(`${fw.name}: the client leaves, the handler then fails → nothing sent, nothing logged, recorded as 499`, async () => {
    const errors = captureErrors();
    try {
      const running = deferred<Context>();
      const answered = deferred<number>();
      const s = await fw.start(
        {
          ...idle(),
          async work(ctx) {
            running.resolve(ctx);
            await sleep(ctx, 60_000); // rejects with ctx.err when the client leaves
            return 'unreachable';
          },
        },
        { answered: (st) => answered.resolve(st) },
      );
      const client = await rawRequest(s.port, 'GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
      const ctx = await running.promise;
      client.destroy();
      await ctx.done;
      assert.equal(await answered.promise, 499);
      await s.close();
      assert.deepEqual(errors.calls, [], 'nothing logged as an error');
    } finally {
      errors.restore();
    }
  });

  test(`${fw.name}: an explicit cancel (options.parent ended) → canceledStatus`, async () => {
    const errors = captureErrors();
    const server = withCancel(background());
    try {
      const running = deferred();
      const s = await fw.start(
        {
          ...idle(),
          async work(ctx) {
            const p = sleep(ctx, 60_000);
            running.resolve();
            await p;
            return 'unreachable';
          },
        },
        { adapter: { parent: server.ctx, canceledStatus: 409 } },
      );
      const res = fetch(`${s.url}/work`);
      await running.promise;
      server.cancel(new Error('shutting down'));
      const r = await res;
      assert.equal(r.status, 409);
      assertErrorBody(fw, await r.text(), 409, 'Conflict', 'CTXKIT_CANCELED');
      await s.close();
      assert.deepEqual(errors.calls, []);
    } finally {
      server.cancel();
      errors.restore();
    }
  });
}

/** Routes that answer at once. */
function idle(): Routes {
  return {
    seen() {},
    async work() {
      return '';
    },
    async afterUpload() {
      return '';
    },
  };
}

/** Checks a context error's answer body in the framework's format. */
function assertErrorBody(fw: Framework, text: string, status: number, title: string, code: string): void {
  assert.doesNotMatch(text, /\n\s+at /, 'no stack trace in the answer');
  const body = JSON.parse(text) as Record<string, unknown>;
  if (fw.errorFormat === 'fastify') {
    assert.deepEqual({ ...body, message: undefined }, { statusCode: status, code, error: title, message: undefined });
    assert.equal(typeof body.message, 'string');
  } else {
    assert.deepEqual({ ...body, detail: undefined }, { type: 'about:blank', title, status, detail: undefined });
    assert.equal(typeof body.detail, 'string');
  }
}

/** Records console.error calls (Express, Koa and Hono log errors there) until `restore()`. */
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

test('a binding on a request that already has a context makes a child of it, with its own limits', async () => {
  const clock = useManualClock();
  try {
    const seen = deferred<{ inner: Context; viaReq: Context; bare: Context }>();
    const app = express();
    app.use(ex.contextMiddleware({ timeoutMs: 1000 }));
    let outer: Context | undefined;
    app.get('/', (req, res) => {
      const inner = ex.getContext(req);
      const bare = contextFromRequest(req, res, { timeoutMs: 500 }).ctx; // the same rule
      seen.resolve({ inner, viaReq: ex.getContext(req), bare });
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
    const { inner, viaReq, bare } = await seen.promise;
    assert.ok(outer !== undefined && inner !== outer, 'the middleware made its own context');
    assert.equal(outer.deadline, undefined, 'the outer binding has no deadline');
    assert.equal(inner.deadline, clock.now() + 1000, "the inner one has the middleware's timeoutMs");
    assert.equal(bare.deadline, clock.now() + 500, 'contextFromRequest on a bound request: a child with its own limits');
    assert.equal(viaReq, bare, 'getContext returns the innermost binding');
    await Promise.all([outer.done, inner.done, bare.done]);
    for (const c of [outer, inner, bare]) assert.ok(cause(c) instanceof ResponseFinishedError, 'all end with the response');
    await s.close();
  } finally {
    clock.restore();
  }
});

test('a nested binding ends with the outer context (a child, never a sibling)', async () => {
  const seen = deferred<{ inner: Context; outer: Context }>();
  const server = withCancel(background());
  const app = express();
  app.use(ex.contextMiddleware());
  app.get('/', async (req) => {
    seen.resolve({ inner: ex.getContext(req), outer: (req as { outerCtx?: Context }).outerCtx! });
    await sleep(ex.getContext(req), 60_000);
  });
  app.use(ex.contextErrorHandler());
  const s = await serve(
    http.createServer(
      contextHandler(
        (ctx, req, res) => {
          (req as { outerCtx?: Context }).outerCtx = ctx;
          app(req as express.Request, res as express.Response);
        },
        { parent: server.ctx },
      ),
    ),
  );
  const res = fetch(s.url);
  const { inner, outer } = await seen.promise;
  const why = new Error('shutting down');
  server.cancel(why);
  await inner.done;
  assert.equal(cause(inner), why);
  assert.equal(cause(outer), why);
  assert.equal((await res).status, 503, 'the cancelled request is answered with the default canceledStatus, 503');
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

test('getContext without the adapter is a TypeError naming the adapter and what to install', () => {
  const req = new http.IncomingMessage(null as never);
  assert.throws(
    () => ex.getContext(req),
    /^TypeError: getContext \(express\): .*app\.use\(contextMiddleware\(\)\) from @ctxkit\/http\/express/,
  );
  assert.throws(() => fa.getContext(req), /^TypeError: getContext \(fastify\): .*register contextPlugin from @ctxkit\/http\/fastify/);
  assert.throws(() => ko.getContext(req), /^TypeError: getContext \(koa\): .*app\.use\(contextMiddleware\(\)\) from @ctxkit\/http\/koa/);
  assert.throws(() => ho.getContext(req), /^TypeError: getContext \(hono\): .*app\.use\(contextMiddleware\(\)\) from @ctxkit\/http\/hono/);
  assert.throws(() => getRequestContext(req), /^TypeError: getRequestContext: .*contextHandler\(\)/);
});

test('renamed exports stay as aliases: the Fastify plugin is contextPlugin (contextMiddleware, default export)', () => {
  assert.equal(fa.contextMiddleware, fa.contextPlugin);
  assert.equal(fastifyPlugin, fa.contextPlugin);
});

test('no context nor operation left running', () => {
  assert.deepEqual(t.liveKinds(), []);
  assert.deepEqual(t.openOps(), []);
});
