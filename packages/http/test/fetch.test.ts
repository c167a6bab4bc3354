import { test, after, afterEach } from 'node:test';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import { DeadlineExceededError, background, withCancel, withTimeout, type Context } from '@ctxkit/core';
import {
  ClientDisconnectedError,
  contextFromRequest,
  createFetch,
  ctxFetch,
  getBaggage,
  getTraceContext,
  withBaggage,
  withTraceContext,
} from '@ctxkit/http';
import { cause, subscribe } from '@ctxkit/core';
import { closeAll, deferred, serve, tally } from './helpers.js';

const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

/** A server that sends `first` and then holds the response open; reports when its client leaves. */
async function hangingServer() {
  let requests = 0;
  const state = {
    got: deferred<http.IncomingHttpHeaders>(),
    left: deferred<unknown>(),
  };
  const s = await serve(
    http.createServer((req, res) => {
      requests++;
      const scope = contextFromRequest(req, res);
      state.got.resolve(req.headers);
      void scope.ctx.done.then(() => state.left.resolve(cause(scope.ctx)));
      if (req.url === '/body') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first chunk');
      }
    }),
  );
  return { ...s, state, requests: () => requests };
}

test('an ended ctx fails fast with ctx.err and never touches the network', async () => {
  const s = await hangingServer();
  const scope = withCancel(background());
  scope.cancel();
  await assert.rejects(ctxFetch(scope.ctx, s.url), (e) => e === scope.ctx.err);
  assert.equal(s.requests(), 0);
  await s.close();
});

test('ctx ends while waiting for the response: rejects with ctx.err; the server sees its client leave', async () => {
  const s = await hangingServer();
  const scope = withCancel(background());
  const p = ctxFetch(scope.ctx, `${s.url}/wait`);
  await s.state.got.promise;
  scope.cancel();
  await assert.rejects(p, (e) => e === scope.ctx.err);
  assert.ok((await s.state.left.promise) instanceof ClientDisconnectedError);
  await s.close();
});

for (const how of ['text', 'json', 'stream'] as const) {
  test(`ctx ends while the body is being read (${how}): rejects with ctx.err; the server sees it`, async () => {
    const s = await hangingServer();
    const scope = withCancel(background());
    const res = await ctxFetch(scope.ctx, `${s.url}/body`);
    let p: Promise<unknown>;
    if (how === 'stream') {
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.equal(new TextDecoder().decode(first.value), 'first chunk');
      p = reader.read();
    } else {
      p = how === 'text' ? res.text() : res.json();
    }
    scope.cancel(new Error('caller gave up'));
    await assert.rejects(p, (e) => e === scope.ctx.err);
    assert.ok((await s.state.left.promise) instanceof ClientDisconnectedError);
    await s.close();
  });
}

test('ctx ends before the body is read at all: reads reject with ctx.err', async () => {
  const s = await hangingServer();
  const scope = withCancel(background());
  const res = await ctxFetch(scope.ctx, `${s.url}/body`);
  scope.cancel();
  await assert.rejects(res.arrayBuffer(), (e) => e === scope.ctx.err);
  await s.state.left.promise;
  await s.close();
});

test("the caller's own init.signal is honoured (its reason), and the context is left clean", async () => {
  const s = await hangingServer();
  const scope = withCancel(background());
  const ac = new AbortController();
  const p = ctxFetch(scope.ctx, `${s.url}/wait`, { signal: ac.signal });
  await s.state.got.promise;
  const reason = new Error('user abort');
  ac.abort(reason);
  await assert.rejects(p, (e) => e === reason);
  assert.equal(scope.ctx.err, undefined, "the caller's signal never ends the parent");
  await s.state.left.promise;
  scope.cancel();
  await s.close();
});

test('a consumed or cancelled body leaves no child on ctx and no open operation', async () => {
  const s = await serve(
    http.createServer((req, res) => {
      res.end(JSON.stringify({ url: req.url }));
    }),
  );
  const scope = withCancel(background());
  const before = t.live();
  for (let i = 0; i < 20; i++) {
    const r = await ctxFetch(scope.ctx, `${s.url}/${i}`);
    if (i % 2 === 0) assert.deepEqual(await r.json(), { url: `/${i}` });
    else await r.body!.cancel();
  }
  assert.equal(t.live(), before, 'every per-fetch child scope ended');
  assert.deepEqual(t.openOps(), []);
  scope.cancel();
  await s.close();
});

test('an abandoned body is released when garbage collected: the far side sees the request end', async (tt) => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    if (process.env.CI === 'true') assert.fail('needs --expose-gc');
    tt.skip('!!! run with --expose-gc to check abandoned bodies');
    return;
  }
  const s = await hangingServer();
  const scope = withCancel(background());
  await (async () => {
    const r = await ctxFetch(scope.ctx, `${s.url}/body`);
    assert.equal(r.status, 200); // dropped without reading
  })();
  let seen = false;
  void s.state.left.promise.then(() => {
    seen = true;
  });
  for (let i = 0; i < 100 && !seen; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(seen, 'the abandoned request was aborted after GC');
  assert.equal(scope.ctx.err, undefined);
  scope.cancel();
  await s.close();
});

test('outbound: remaining budget minus margin, grpc-timeout on request, trace context and allowlisted baggage only', async () => {
  const s = await hangingServer();
  const scope = withTimeout(background(), 60_000);
  let ctx: Context = withTraceContext(scope.ctx, {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    tracestate: 'congo=t61rcWkgMzE',
  });
  ctx = withBaggage(ctx, { tenant: 'acme corp', secret: 'do-not-send' });
  const p = ctxFetch(ctx, `${s.url}/wait`, { marginMs: 1000, grpcTimeout: true, baggage: ['tenant'] });
  const h = await s.state.got.promise;
  const ms = Number(h['ctxkit-timeout-ms']);
  assert.ok(ms <= 59_000 && ms > 0, `budget ${ms}`);
  assert.match(String(h['grpc-timeout']), /^\d{1,8}[mu]$/);
  assert.equal(h.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(h.tracestate, 'congo=t61rcWkgMzE');
  assert.equal(h.baggage, 'tenant=acme%20corp');
  scope.cancel();
  await assert.rejects(p, (e) => e === scope.ctx.err);
  assert.ok((await s.state.left.promise) instanceof ClientDisconnectedError);
  await s.close();
});

test('a traceparent the caller sets wins; without one, the trace context ctx carries is passed through unchanged', async () => {
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const s = await serve(
    http.createServer((req, res) => {
      seen.push(req.headers);
      res.end();
    }),
  );
  const inbound = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const mine = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const ctx = withTraceContext(background(), { traceparent: inbound, tracestate: 'congo=t61rcWkgMzE' });
  // No caller header: the received pair, as received (same parent id: no span id is made up).
  await (await ctxFetch(ctx, s.url)).text();
  // The caller's traceparent wins, and ctx's tracestate (which belongs to ctx's parent) is not sent.
  await (await ctxFetch(ctx, s.url, { headers: { traceparent: mine } })).text();
  // The same from a Request's headers.
  await (await ctxFetch(ctx, new Request(s.url, { headers: { traceparent: mine, tracestate: 'mine=1' } }))).text();
  // A caller's tracestate alone: the caller owns the trace headers, none is added from ctx.
  await (await ctxFetch(ctx, s.url, { headers: { tracestate: 'mine=1' } })).text();
  assert.deepEqual(
    seen.map((h) => [h.traceparent, h.tracestate]),
    [
      [inbound, 'congo=t61rcWkgMzE'],
      [mine, undefined],
      [mine, 'mine=1'],
      [undefined, 'mine=1'],
    ],
  );
  await s.close();
});

test('inbound trace context and allowlisted baggage become context values on the server', async () => {
  const seen = deferred<{ trace: unknown; baggage: Map<string, string> }>();
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res, { baggage: ['tenant'] });
      seen.resolve({ trace: getTraceContext(scope.ctx), baggage: new Map(getBaggage(scope.ctx)) });
      res.end();
    }),
  );
  await (
    await fetch(s.url, {
      headers: {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        baggage: 'tenant=acme%20corp;p=1, other=x, bad key=1',
      },
    })
  ).text();
  const got = await seen.promise;
  assert.deepEqual(got.trace, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  assert.deepEqual([...got.baggage], [['tenant', 'acme corp']]);
  await s.close();
});

test('createFetch applies defaults; per-call options override', async () => {
  const s = await hangingServer();
  const scope = withTimeout(background(), 60_000);
  const f = createFetch({ marginMs: 30_000, headers: { 'x-service': 'demo' } });
  const p = f(scope.ctx, `${s.url}/wait`);
  const h = await s.state.got.promise;
  assert.ok(Number(h['ctxkit-timeout-ms']) <= 30_000);
  assert.equal(h['x-service'], 'demo');
  scope.cancel();
  await assert.rejects(p, (e) => e === scope.ctx.err);
  assert.ok((await s.state.left.promise) instanceof ClientDisconnectedError);
  await s.close();
});

test("the deadline passes mid-response: rejects with DeadlineExceededError (ctx.err); the server's propagated budget ended it there too", async () => {
  const clock = useManualClock();
  try {
    const s = await hangingServer();
    const scope = withTimeout(background(), 1000);
    const res = await ctxFetch(scope.ctx, `${s.url}/body`);
    const rejected = assert.rejects(res.text(), (e) => e === scope.ctx.err && e instanceof DeadlineExceededError);
    await clock.advance(1000);
    await rejected;
    // The server's context ended too: its propagated budget (1000 − margin) ran out first.
    assert.ok((await s.state.left.promise) instanceof DeadlineExceededError);
    scope.cancel();
    await s.close();
  } finally {
    clock.restore();
  }
});

test('operation labels carry no query string nor credentials', async () => {
  const labels: string[] = [];
  const stop = subscribe({
    operationStarted(op) {
      labels.push(op.label);
    },
  });
  const s = await serve(http.createServer((_req, res) => res.end('x')));
  try {
    const u = new URL(s.url);
    // fetch itself refuses URLs with credentials; the label is made (and the operation ended) anyway
    await ctxFetch(background(), `http://user:secret@${u.host}/path?token=abc#frag`)
      .then((r) => r.text())
      .catch(() => {});
    await (await ctxFetch(background(), `${s.url}/p?token=abc`, { method: 'post' })).text();
  } finally {
    stop();
  }
  assert.ok(labels.length >= 1);
  for (const l of labels) assert.doesNotMatch(l, /secret|token|frag/);
  assert.ok(labels.includes(`fetch POST ${s.url}/p`));
  await s.close();
});

test('no context nor operation left running', () => {
  assert.deepEqual(t.liveKinds(), []);
  assert.deepEqual(t.openOps(), []);
});
