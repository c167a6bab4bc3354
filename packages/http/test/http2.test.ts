// node:http2 request contexts against a real node:http2 client on loopback: the 'stream' event and
// the compatibility API, client resets, sessions going away, the response's end, budgets, the
// malformed-header answer, propagation headers, and listener accounting on a long-lived session.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { once } from 'node:events';
import { CanceledError, DeadlineExceededError, background, cause, remaining, sleep, withCancel, type Context } from '@ctxkit/core';
import { current } from '@ctxkit/core/node';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import {
  ClientDisconnectedError,
  InvalidHeaderError,
  ResponseFinishedError,
  SessionClosedError,
  StreamResetError,
  contextFromHttp2Request,
  contextFromStream,
  getBaggage,
  getRequestContext,
  getStreamContext,
  getTraceContext,
  http2Handler,
  streamHandler,
} from '@ctxkit/http';
import { deferred, tally } from './helpers.js';
import { closeAllH2, closed, connect, open, request, serveH2 } from './http2-helpers.js';

const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAllH2);

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** A server whose every stream (stream event) reports its context and then waits on it. */
async function waitingStreamServer(options?: Parameters<typeof streamHandler>[1]) {
  const started: Array<{ path: string; ctx: Context }> = [];
  const arrived = new Map<string, ReturnType<typeof deferred<Context>>>();
  const ended = new Map<string, ReturnType<typeof deferred<{ ctx: Context; err: unknown }>>>();
  const slot = <T>(m: Map<string, ReturnType<typeof deferred<T>>>, k: string) => {
    let d = m.get(k);
    if (d === undefined) m.set(k, (d = deferred<T>()));
    return d;
  };
  const server = http2.createServer();
  server.on(
    'stream',
    streamHandler(async (ctx, _stream, headers) => {
      const path = String(headers[':path']);
      started.push({ path, ctx });
      slot(arrived, path).resolve(ctx);
      const err = await sleep(ctx, 60_000).catch((e: unknown) => e);
      slot(ended, path).resolve({ ctx, err });
      throw err; // streamHandler answers it (504 for the budget, nothing for a departed client)
    }, options),
  );
  const s = await serveH2(server);
  return {
    s,
    started,
    arrived: (p: string) => slot(arrived, p).promise,
    ended: (p: string) => slot(ended, p).promise,
  };
}

test('stream event: the client resets the stream mid-handler → StreamResetError (code CANCEL), work on ctx rejects with ctx.err', async () => {
  const w = await waitingStreamServer();
  const c = await connect(w.s.port);
  const req = open(c.session, { ':path': '/a' });
  await w.arrived('/a');
  req.close(NGHTTP2_CANCEL);
  const { ctx, err } = await w.ended('/a');
  assert.ok(ctx.err instanceof CanceledError);
  assert.equal(err, ctx.err, 'sleep(ctx) rejected with ctx.err itself');
  const why = cause(ctx);
  assert.ok(why instanceof StreamResetError);
  assert.ok(why instanceof ClientDisconnectedError, 'one check covers HTTP/1.1 and HTTP/2 departures');
  assert.equal(why.code, NGHTTP2_CANCEL);
  assert.equal(why.name, 'StreamResetError');
  // The session lives on: the next request on it is served.
  const next = open(c.session, { ':path': '/b' });
  await w.arrived('/b');
  next.close(NGHTTP2_CANCEL);
  assert.ok(cause((await w.ended('/b')).ctx) instanceof StreamResetError);
});

test('compatibility API: a reset ends the request context with StreamResetError; getStreamContext/getRequestContext return it', async () => {
  const arrived = deferred<{ ctx: Context; req: http2.Http2ServerRequest }>();
  const ended = deferred<{ ctx: Context; err: unknown; seen: Context | undefined }>();
  const s = await serveH2(
    http2.createServer(
      http2Handler(async (ctx, req) => {
        arrived.resolve({ ctx, req });
        const seen = current();
        const err = await sleep(ctx, 60_000).catch((e: unknown) => e);
        ended.resolve({ ctx, err, seen });
      }),
    ),
  );
  const c = await connect(s.port);
  const req = open(c.session, { ':path': '/x' });
  const got = await arrived.promise;
  assert.equal(getStreamContext(got.req), got.ctx);
  assert.equal(getRequestContext(got.req as never), got.ctx);
  req.close(NGHTTP2_CANCEL);
  const { ctx, err, seen } = await ended.promise;
  assert.equal(seen, ctx, 'bound for current()');
  assert.equal(err, ctx.err);
  assert.ok(cause(ctx) instanceof StreamResetError);
  assert.equal((cause(ctx) as StreamResetError).code, NGHTTP2_CANCEL);
});

test("the client's connection drops with several streams in flight → each context ends with SessionClosedError", async () => {
  const w = await waitingStreamServer();
  const c = await connect(w.s.port);
  const paths = ['/1', '/2', '/3'];
  for (const p of paths) open(c.session, { ':path': p });
  await Promise.all(paths.map((p) => w.arrived(p)));
  c.socket.destroy(); // the client process went away
  for (const p of paths) {
    const { ctx, err } = await w.ended(p);
    assert.equal(err, ctx.err);
    assert.ok(cause(ctx) instanceof SessionClosedError, `${p}: ${String(cause(ctx))}`);
  }
});

test('the client destroys its session → every context ends as a departure (Node resets some streams before its GOAWAY)', async () => {
  const w = await waitingStreamServer();
  const c = await connect(w.s.port);
  const paths = ['/1', '/2', '/3'];
  for (const p of paths) open(c.session, { ':path': p });
  await Promise.all(paths.map((p) => w.arrived(p)));
  c.session.destroy();
  for (const p of paths) {
    const why = cause((await w.ended(p)).ctx);
    assert.ok(why instanceof StreamResetError || why instanceof SessionClosedError, `${p}: ${String(why)}`);
  }
});

test('a GOAWAY with an error code ends the streams with SessionClosedError; a graceful close lets them finish', async () => {
  const w = await waitingStreamServer();
  const c = await connect(w.s.port);
  open(c.session, { ':path': '/calm' });
  await w.arrived('/calm');
  c.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
  const why = cause((await w.ended('/calm')).ctx);
  assert.ok(why instanceof SessionClosedError);
  assert.equal(why.code, NGHTTP2_ENHANCE_YOUR_CALM);

  // Graceful: session.close() sends GOAWAY(NO_ERROR) and waits for its open streams.
  const release = deferred();
  const done = deferred<{ before: unknown; after: unknown }>();
  const s = await serveH2(
    http2.createServer(
      http2Handler(async (ctx, _req, res) => {
        await release.promise;
        const before = ctx.err;
        res.end('finished');
        await ctx.done;
        done.resolve({ before, after: cause(ctx) });
      }),
    ),
  );
  const c2 = await connect(s.port);
  const reply = request(c2.session, { ':path': '/' });
  await once(s.server, 'request');
  c2.session.close();
  await once(s.sessions[0]!, 'goaway');
  release.resolve();
  assert.deepEqual(await reply, { status: 200, body: 'finished' });
  const r = await done.promise;
  assert.equal(r.before, undefined, 'the graceful GOAWAY did not end the context');
  assert.ok(r.after instanceof ResponseFinishedError);
});

test('the response sent ends the context with ResponseFinishedError, not before (a POST body read while the client waits)', async () => {
  const seen = deferred<{ afterBody: unknown; finished: Promise<unknown> }>();
  const s = await serveH2(
    http2.createServer(
      http2Handler(async (ctx, req, res) => {
        let n = 0;
        for await (const chunk of req) n += (chunk as Buffer).length;
        res.write(`${n}:`);
        await new Promise<void>((r) => setImmediate(r)); // the client has half-closed; still waiting
        seen.resolve({ afterBody: ctx.err, finished: ctx.done.then(() => cause(ctx)) });
        res.end('done');
      }),
    ),
  );
  const c = await connect(s.port);
  const body = Buffer.alloc(256 * 1024, 97);
  assert.deepEqual(await request(c.session, { ':path': '/up', ':method': 'POST' }, body), { status: 200, body: `${body.length}:done` });
  const r = await seen.promise;
  assert.equal(r.afterBody, undefined, 'not cancelled once the body was read');
  assert.ok((await r.finished) instanceof ResponseFinishedError);

  // The stream event: the same, through stream.respond/end.
  const ended = deferred<unknown>();
  const s2 = await serveH2(http2.createServer());
  s2.server.on('stream', (stream, headers) => {
    const scope = contextFromStream(stream, headers);
    stream.respond({ ':status': 200 });
    stream.end('ok');
    void scope.ctx.done.then(() => ended.resolve(cause(scope.ctx)));
  });
  const c2 = await connect(s2.port);
  assert.deepEqual(await request(c2.session, { ':path': '/' }), { status: 200, body: 'ok' });
  assert.ok((await ended.promise) instanceof ResponseFinishedError);
});

test('the budget runs out → DeadlineExceededError, answered 504; inbound budgets clamped to maxTimeoutMs', async () => {
  const clock = useManualClock();
  try {
    const w = await waitingStreamServer({ timeoutMs: 30_000 });
    const c = await connect(w.s.port);
    const reply = request(c.session, { ':path': '/slow' });
    const ctx = await w.arrived('/slow');
    assert.equal(remaining(ctx), 30_000);
    await clock.advance(30_000);
    const { err } = await w.ended('/slow');
    assert.ok(ctx.err instanceof DeadlineExceededError);
    assert.equal(err, ctx.err);
    assert.equal((await reply).status, 504);

    const got: number[] = [];
    const s = await serveH2(http2.createServer());
    const opts = { maxTimeoutMs: 500 };
    s.server.on('stream', (stream, headers) => {
      const scope = contextFromStream(stream, headers, opts);
      got.push(remaining(scope.ctx));
      stream.respond({ ':status': scope.ctx.err === undefined ? 200 : 299 });
      stream.end();
    });
    const c2 = await connect(s.port);
    const status = async (h: http2.OutgoingHttpHeaders) => (await request(c2.session, { ':path': '/', ...h })).status;
    assert.equal(await status({ 'ctxkit-timeout-ms': '60000' }), 200);
    assert.equal(await status({ 'grpc-timeout': '100m' }), 200);
    assert.equal(await status({ 'x-envoy-expected-rq-timeout-ms': '250' }), 200);
    assert.equal(await status({}), 200);
    assert.equal(await status({ 'ctxkit-timeout-ms': '0' }), 299, '0 = already expired');
    assert.deepEqual(got, [500, 100, 250, 500, 0]);
  } finally {
    clock.restore();
  }
});

test('malformed budget header → 400 naming the header, handler not called; invalid: "ignore" disregards it', async () => {
  let handled = 0;
  const s = await serveH2(http2.createServer());
  s.server.on(
    'stream',
    streamHandler((_ctx, stream) => {
      handled++;
      stream.respond({ ':status': 200 });
      stream.end();
    }),
  );
  const c = await connect(s.port);
  const r = await request(c.session, { ':path': '/', 'grpc-timeout': '12x' });
  assert.equal(r.status, 400);
  assert.match(r.body, /invalid grpc-timeout header "12x"/);
  assert.equal(handled, 0);

  // The bare bindings: the context has already ended with the InvalidHeaderError.
  const causes: unknown[] = [];
  const bare = await serveH2(
    http2.createServer((req, res) => {
      const scope = contextFromHttp2Request(req, res);
      causes.push(cause(scope.ctx));
      if (scope.ctx.err === undefined) res.end('ok');
    }),
  );
  bare.server.on('stream', () => {}); // compatibility API: 'request' is what answers
  const c2 = await connect(bare.port);
  const r2 = await request(c2.session, { ':path': '/', 'ctxkit-timeout-ms': '-5' });
  assert.equal(r2.status, 400);
  assert.match(r2.body, /ctxkit-timeout-ms/);
  assert.ok(causes[0] instanceof InvalidHeaderError);

  const lax = await serveH2(http2.createServer(http2Handler((ctx, _req, res) => res.end(String(remaining(ctx))), { invalid: 'ignore' })));
  const c3 = await connect(lax.port);
  assert.deepEqual(await request(c3.session, { ':path': '/', 'grpc-timeout': '999999999S' }), { status: 200, body: 'Infinity' });
});

test('traceparent and allowlisted baggage are read as on node:http; inbound: false ignores them', async () => {
  const got: Array<{ trace: unknown; baggage: Array<[string, string]>; remaining: number }> = [];
  const record = (ctx: Context) =>
    got.push({ trace: getTraceContext(ctx)?.traceparent, baggage: [...getBaggage(ctx)], remaining: remaining(ctx) });
  const s = await serveH2(
    http2.createServer(
      http2Handler(
        (ctx, _req, res) => {
          record(ctx);
          res.end();
        },
        { baggage: ['tenant'] },
      ),
    ),
  );
  const strict = await serveH2(http2.createServer());
  const untrusting = { inbound: false };
  strict.server.on('stream', (stream, headers) => {
    record(contextFromStream(stream, headers, untrusting).ctx);
    stream.respond({ ':status': 200 });
    stream.end();
  });
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const h = { ':path': '/', traceparent: tp, baggage: 'tenant=acme,other=x', 'ctxkit-timeout-ms': '5000' };
  const c = await connect(s.port);
  await request(c.session, h);
  const c2 = await connect(strict.port);
  await request(c2.session, h);
  assert.equal(got[0]!.trace, tp);
  assert.deepEqual(got[0]!.baggage, [['tenant', 'acme']]);
  assert.ok(got[0]!.remaining <= 5000 && got[0]!.remaining > 0);
  assert.deepEqual(got[1], { trace: undefined, baggage: [], remaining: Infinity });
});

test('many streams on one long-lived session: session listeners stay constant, stream listeners removed, no context left', async () => {
  const liveBefore = t.live();
  const streamListeners: number[] = [];
  const arrivals = new Map<string, () => void>();
  const s = await serveH2(http2.createServer());
  s.server.on(
    'stream',
    streamHandler((ctx, stream, headers) => {
      const path = String(headers[':path']);
      stream.once('close', () => {
        streamListeners.push(stream.listenerCount('aborted') + stream.listenerCount('close') + stream.listenerCount('error'));
      });
      const arrived = arrivals.get(path);
      if (arrived !== undefined) {
        arrived(); // the client resets this one
        return ctx.done;
      }
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }),
  );
  const c = await connect(s.port);
  await request(c.session, { ':path': '/ok' });
  const session = s.sessions[0]!;
  const count = () => Object.fromEntries(session.eventNames().map((e) => [String(e), session.listenerCount(e)]));
  const baseline = count();
  const resetOne = async (path: string): Promise<void> => {
    const arrived = deferred();
    arrivals.set(path, () => arrived.resolve());
    const req = open(c.session, { ':path': path });
    await arrived.promise;
    req.close(NGHTTP2_CANCEL);
    await closed(req);
  };
  for (let round = 0; round < 10; round++) {
    const batch: Array<Promise<unknown>> = [];
    for (let i = 0; i < 30; i++) batch.push(request(c.session, { ':path': '/ok' }));
    for (let i = 0; i < 10; i++) batch.push(resetOne(`/reset/${round}/${i}`));
    await Promise.all(batch);
    assert.deepEqual(count(), baseline, `round ${round}`);
  }
  assert.equal(s.sessions.length, 1, 'one session served them all');
  assert.ok(streamListeners.length >= 300);
  assert.ok(
    streamListeners.every((n) => n === 0),
    'no listener of the binding left on a closed stream',
  );
  await closeAllH2();
  assert.equal(t.live(), liveBefore, 'every request context ended');
});

test('handler failures: 500 before the response started, RST_STREAM(INTERNAL_ERROR) after; a client RST with an error code cannot crash the process', async () => {
  const s = await serveH2(http2.createServer());
  const reached = deferred<Context>();
  s.server.on(
    'stream',
    streamHandler(async (ctx, stream, headers) => {
      const path = headers[':path'];
      if (path === '/boom') throw new Error('boom');
      if (path === '/late') {
        stream.respond({ ':status': 200 });
        stream.write('partial');
        await Promise.resolve();
        throw new Error('late boom');
      }
      reached.resolve(ctx);
      await ctx.done;
    }),
  );
  const c = await connect(s.port);
  assert.equal((await request(c.session, { ':path': '/boom' })).status, 500);
  const late = open(c.session, { ':path': '/late' });
  await closed(late);
  assert.equal(late.rstCode, NGHTTP2_INTERNAL_ERROR);
  const bad = open(c.session, { ':path': '/wait' });
  const ctx = await reached.promise;
  bad.close(NGHTTP2_INTERNAL_ERROR); // emitted as 'error' on the server stream
  await ctx.done;
  assert.ok(cause(ctx) instanceof StreamResetError);
  assert.equal((cause(ctx) as StreamResetError).code, NGHTTP2_INTERNAL_ERROR);
});

test('options.parent ending ends in-flight stream contexts; a second binding of a stream returns a child it owns', async () => {
  const server = withCancel(background());
  const w = await waitingStreamServer({ parent: server.ctx });
  const c = await connect(w.s.port);
  open(c.session, { ':path': '/p' });
  const ctx = await w.arrived('/p');
  server.cancel(new Error('shutting down'));
  await w.ended('/p');
  assert.equal((cause(ctx) as Error).message, 'shutting down');

  const children = deferred<{ stream: http2.ServerHttp2Stream; outer: Context; inner: Context; after: unknown }>();
  const s = await serveH2(http2.createServer());
  s.server.on('stream', (stream, headers) => {
    const outer = contextFromStream(stream, headers);
    const inner = contextFromStream(stream, headers);
    inner.cancel();
    children.resolve({ stream, outer: outer.ctx, inner: inner.ctx, after: outer.ctx.err });
    stream.respond({ ':status': 200 });
    stream.end();
  });
  const c2 = await connect(s.port);
  await request(c2.session, { ':path': '/' });
  const r = await children.promise;
  assert.equal(getStreamContext(r.stream), r.outer);
  assert.notEqual(r.inner, r.outer);
  assert.equal(r.after, undefined, 'cancelling the child leaves the stream context alone');
});

test('bad arguments get a TypeError naming what was wrong', () => {
  assert.throws(() => contextFromStream({} as never, {}), /contextFromStream: stream must be a node:http2 ServerHttp2Stream/);
  const fakeStream = { respond() {}, on() {} } as never;
  assert.throws(() => contextFromStream(fakeStream, null as never), /contextFromStream: headers must be/);
  assert.throws(() => contextFromStream(fakeStream, {}, { timeoutMs: -1 }), /timeoutMs/);
  assert.throws(() => contextFromStream(fakeStream, {}, { nope: 1 } as never), /nope/);
  assert.throws(() => streamHandler(42 as never), /streamHandler: handler must be a function/);
  assert.throws(() => streamHandler(() => {}, { onError: 1 as never }), /streamHandler: options\.onError must be a function/);
  assert.throws(() => http2Handler(null as never), /http2Handler: handler must be a function/);
  assert.throws(
    () => contextFromHttp2Request({} as never, {} as never),
    /contextFromHttp2Request: req must be a node:http2 Http2ServerRequest/,
  );
  assert.throws(() => getStreamContext({} as never), /getStreamContext: no context/);
});
