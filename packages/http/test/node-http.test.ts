import { test, after, afterEach } from 'node:test';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { CanceledError, DeadlineExceededError, background, cause, remaining, withCancel, type Context } from '@ctxkit/core';
import { current } from '@ctxkit/core/node';
import {
  ClientDisconnectedError,
  InvalidHeaderError,
  ResponseFinishedError,
  contextFromRequest,
  contextHandler,
  ctxFetch,
  getBaggage,
  getRequestContext,
  getTraceContext,
} from '@ctxkit/http';
import { closeAll, deferred, rawRequest, readHead, serve, tally } from './helpers.js';

const t = tally();
after(() => {
  t.stop();
});
leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

test('client disconnects mid-processing: ctx ends with ClientDisconnectedError, downstream fetch aborted on the far side', async () => {
  // C: the third server; records that its own request context ended because B went away.
  const cEnded = deferred<unknown>();
  const cGotRequest = deferred();
  const c = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      cGotRequest.resolve();
      void scope.ctx.done.then(() => cEnded.resolve(cause(scope.ctx)));
    }),
  );
  const bEnded = deferred<{ ctx: Context; fetchError: unknown }>();
  const b = await serve(
    http.createServer(
      contextHandler(async (ctx) => {
        try {
          await ctxFetch(ctx, `${c.url}/slow`);
        } catch (e) {
          bEnded.resolve({ ctx, fetchError: e });
        }
      }),
    ),
  );
  const client = await rawRequest(b.port, 'GET /work HTTP/1.1\r\nHost: x\r\n\r\n');
  await cGotRequest.promise;
  client.destroy();
  const { ctx, fetchError } = await bEnded.promise;
  assert.ok(ctx.err instanceof CanceledError);
  assert.ok(cause(ctx) instanceof ClientDisconnectedError);
  assert.equal(fetchError, ctx.err, 'ctxFetch rejects with ctx.err itself');
  assert.ok((await cEnded.promise) instanceof ClientDisconnectedError, 'the far side saw its client leave');
  await b.close();
  await c.close();
});

test('a large POST read completely, then slow work: NOT cancelled while the client waits', async () => {
  const seen = deferred<{ errAfterReqClose: unknown; causeAfter: Promise<unknown> }>();
  const s = await serve(
    http.createServer(async (req, res) => {
      const scope = contextFromRequest(req, res);
      let n = 0;
      for await (const chunk of req) n += (chunk as Buffer).length;
      if (!req.destroyed) await once(req, 'close'); // the trap: req 'close' fires once the body was read
      const errAfterReqClose = scope.ctx.err;
      const causeAfter = scope.ctx.done.then(() => cause(scope.ctx));
      seen.resolve({ errAfterReqClose, causeAfter });
      res.end(String(n));
    }),
  );
  const body = Buffer.alloc(4 * 1024 * 1024, 97);
  const r = await fetch(`${s.url}/upload`, { method: 'POST', body });
  assert.equal(await r.text(), String(body.length));
  const { errAfterReqClose, causeAfter } = await seen.promise;
  assert.equal(errAfterReqClose, undefined);
  assert.ok((await causeAfter) instanceof ResponseFinishedError, 'ends once the response was sent');
  await s.close();
});

test('client disconnects during the upload: cancelled', async () => {
  const firstChunk = deferred();
  const ended = deferred<unknown>();
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      req.once('data', () => firstChunk.resolve());
      req.on('error', () => {});
      void scope.ctx.done.then(() => ended.resolve(cause(scope.ctx)));
    }),
  );
  const sock = await rawRequest(s.port, 'POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n', Buffer.alloc(65536, 1));
  await firstChunk.promise;
  sock.destroy();
  assert.ok((await ended.promise) instanceof ClientDisconnectedError);
  await s.close();
});

test('keep-alive: each request ends with its own response; the next on the socket is untouched; no listener piles up', async () => {
  const contexts: Context[] = [];
  const closeListeners: number[] = [];
  const liveWhileHandled: boolean[] = [];
  const s = await serve(
    http.createServer((req, res) => {
      const before = req.socket.listenerCount('close');
      const scope = contextFromRequest(req, res);
      contexts.push(scope.ctx);
      liveWhileHandled.push(scope.ctx.err === undefined && contexts.slice(0, -1).every((c) => c.err !== undefined));
      closeListeners.push(before);
      setImmediate(() => res.end('ok'));
    }),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<unknown>();
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((resolve, reject) => {
      const r = http.get(`${s.url}/${i}`, { agent }, (res) => {
        sockets.add(res.socket);
        res.resume();
        res.on('end', resolve);
      });
      r.on('error', reject);
    });
  }
  agent.destroy();
  assert.equal(sockets.size, 1, 'all requests went over one connection');
  assert.deepEqual(liveWhileHandled, [true, true, true, true, true]);
  assert.equal(new Set(closeListeners).size, 1, `socket 'close' listeners stay constant: ${closeListeners}`);
  for (const c of contexts) {
    await c.done;
    assert.ok(cause(c) instanceof ResponseFinishedError);
  }
  await s.close();
});

test('pipelined requests: a queued response that has no socket yet still sees the client leave', async () => {
  const ctxs: Context[] = [];
  const both = deferred();
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      ctxs.push(scope.ctx);
      if (ctxs.length === 2) both.resolve();
    }),
  );
  const sock = await rawRequest(s.port, 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
  await both.promise;
  assert.deepEqual(
    ctxs.map((c) => c.err),
    [undefined, undefined],
  );
  sock.destroy();
  await Promise.all(ctxs.map((c) => c.done));
  for (const c of ctxs) assert.ok(cause(c) instanceof ClientDisconnectedError);
  await s.close();
});

test('pipelined requests: the first response finishing leaves the second running', async () => {
  const ctxs: Context[] = [];
  const responses: http.ServerResponse[] = [];
  const both = deferred();
  const s = await serve(
    http.createServer((req, res) => {
      ctxs.push(contextFromRequest(req, res).ctx);
      responses.push(res);
      if (ctxs.length === 2) both.resolve();
    }),
  );
  const sock = await rawRequest(s.port, 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n');
  await both.promise;
  responses[0]!.end('one');
  await ctxs[0]!.done;
  assert.ok(cause(ctxs[0]!) instanceof ResponseFinishedError);
  assert.equal(ctxs[1]!.err, undefined, 'the queued request is untouched');
  responses[1]!.end('two');
  await ctxs[1]!.done;
  assert.ok(cause(ctxs[1]!) instanceof ResponseFinishedError);
  sock.destroy();
  await s.close();
});

test('inbound budget: the smallest of the headers, timeoutMs and maxTimeoutMs; 0 is already expired', async () => {
  const got: Array<{ remaining: number; err: unknown }> = [];
  const opts = { timeoutMs: 60_000, maxTimeoutMs: 30_000 };
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res, opts);
      got.push({ remaining: remaining(scope.ctx), err: scope.ctx.err });
      res.end();
    }),
  );
  const get = async (headers: Record<string, string>): Promise<number> => (await fetch(s.url, { headers })).status;
  assert.equal(await get({ 'ctxkit-timeout-ms': '2000', 'grpc-timeout': '1S', 'x-envoy-expected-rq-timeout-ms': '3000' }), 200);
  assert.equal(await get({ 'grpc-timeout': '5H' }), 200);
  assert.equal(await get({}), 200);
  assert.equal(await get({ 'ctxkit-timeout-ms': '0' }), 200);
  assert.ok(got[0]!.remaining <= 1000 && got[0]!.remaining > 0);
  assert.ok(got[1]!.remaining <= 30_000 && got[1]!.remaining > 1000, 'clamped to maxTimeoutMs');
  assert.ok(got[2]!.remaining <= 30_000 && got[2]!.remaining > 1000, 'no inbound budget: the local limits apply');
  assert.ok(got[3]!.err instanceof DeadlineExceededError);
  await s.close();
});

test('each propagation header is read when it comes alone (requests without any take a shorter path)', async () => {
  const got: Array<{ remaining: number; trace: unknown; baggage: Array<[string, string]> }> = [];
  const opts = { timeoutMs: 60_000, baggage: ['tenant'] };
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res, opts);
      got.push({ remaining: remaining(scope.ctx), trace: getTraceContext(scope.ctx)?.traceparent, baggage: [...getBaggage(scope.ctx)] });
      res.end();
    }),
  );
  const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  for (const headers of [
    {} as Record<string, string>,
    { 'ctxkit-timeout-ms': '2000' },
    { 'grpc-timeout': '2S' },
    { 'x-envoy-expected-rq-timeout-ms': '2000' },
    { traceparent: tp },
    { baggage: 'tenant=acme' },
    { tracestate: 'a=b' },
  ]) {
    assert.equal((await fetch(s.url, { headers })).status, 200);
  }
  assert.ok(got[0]!.remaining > 2000 && got[0]!.remaining <= 60_000, 'no header: timeoutMs alone');
  for (const i of [1, 2, 3]) assert.ok(got[i]!.remaining <= 2000 && got[i]!.remaining > 0, `budget header ${i} read`);
  assert.equal(got[4]!.trace, tp);
  assert.deepEqual(got[5]!.baggage, [['tenant', 'acme']]);
  assert.equal(got[6]!.trace, undefined, 'tracestate without traceparent is ignored');
  assert.ok(got[6]!.remaining > 2000);
  const plain = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      res.end(String(getBaggage(scope.ctx).size));
    }),
  );
  assert.equal(await (await fetch(plain.url, { headers: { baggage: 'tenant=acme' } })).text(), '0', 'baggage not allowlisted');
  await s.close();
  await plain.close();
});

test('malformed budget header: 400 naming the header; with invalid: "ignore" it is disregarded', async () => {
  let handled = 0;
  let causeSeen: unknown;
  const strict = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      if (scope.ctx.err !== undefined) {
        causeSeen = cause(scope.ctx);
        return;
      }
      handled++;
      res.end();
    }),
  );
  const r = await fetch(strict.url, { headers: { 'grpc-timeout': '12x' } });
  assert.equal(r.status, 400);
  assert.match(await r.text(), /grpc-timeout/);
  assert.ok(causeSeen instanceof InvalidHeaderError);
  assert.equal(handled, 0);
  const lax = await serve(
    http.createServer(
      contextHandler(
        (ctx, _req, res) => {
          res.end(String(remaining(ctx)));
        },
        { invalid: 'ignore' },
      ),
    ),
  );
  const r2 = await fetch(lax.url, { headers: { 'ctxkit-timeout-ms': '-5', 'grpc-timeout': '999999999S' } });
  assert.equal(r2.status, 200);
  assert.equal(await r2.text(), 'Infinity');
  await strict.close();
  await lax.close();
});

test("inbound: false ignores the caller's budget and trace headers (servers facing untrusted clients)", async () => {
  const seen = deferred<{ remaining: number; trace: unknown }>();
  const s = await serve(
    http.createServer(
      contextHandler(
        (ctx, _req, res) => {
          seen.resolve({ remaining: remaining(ctx), trace: getTraceContext(ctx) });
          res.end();
        },
        { inbound: false, timeoutMs: 60_000 },
      ),
    ),
  );
  await (
    await fetch(s.url, {
      headers: {
        'ctxkit-timeout-ms': '1',
        'grpc-timeout': 'garbage',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    })
  ).text();
  const got = await seen.promise;
  assert.ok(got.remaining > 1000, 'the 1 ms inbound budget was ignored, the malformed one too');
  assert.equal(got.trace, undefined);
  await s.close();
});

test('options.parent: cancelling the server context ends every request in flight (graceful shutdown)', async () => {
  const server = withCancel(background());
  const started = deferred<Context>();
  const s = await serve(
    http.createServer(
      contextHandler(
        async (ctx) => {
          started.resolve(ctx);
          await ctx.done;
        },
        { parent: server.ctx },
      ),
    ),
  );
  const client = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const ctx = await started.promise;
  const shutdown = new Error('shutting down');
  server.cancel(shutdown);
  assert.equal(cause(ctx), shutdown);
  client.destroy();
  await s.close();
});

test('contextHandler binds current() and getRequestContext to the same context', async () => {
  const same = deferred<boolean>();
  const s = await serve(
    http.createServer(
      contextHandler(async (ctx, req, res) => {
        await Promise.resolve();
        same.resolve(current() === ctx && getRequestContext(req) === ctx);
        res.end();
      }),
    ),
  );
  await (await fetch(s.url)).text();
  assert.equal(await same.promise, true);
  await s.close();
});

test('contextHandler: a throwing handler gets 500, an ended budget 504, never a crash', async () => {
  const s = await serve(
    http.createServer(
      contextHandler(
        async (ctx, req) => {
          if (req.url === '/boom') throw new Error('boom');
          await ctx.done;
          ctx.throwIfDone();
        },
        { timeoutMs: 20 },
      ),
    ),
  );
  assert.equal((await fetch(`${s.url}/boom`)).status, 500);
  assert.equal((await fetch(`${s.url}/wait`)).status, 504);
  await s.close();
});

test("three hops A→B→C: C's budget is A's minus the time each hop spent and its margin; A's client leaving ends C", async () => {
  // Time is driven by hand so "time spent" is exact: A spends 100 ms, B 50 ms.
  const clock = useManualClock();
  try {
    const margin = 5;
    const cInfo = deferred<{ header: string | undefined; remaining: number }>();
    const cEnded = deferred<unknown>();
    const c = await serve(
      http.createServer(
        contextHandler(async (ctx, req) => {
          cInfo.resolve({ header: req.headers['ctxkit-timeout-ms'] as string | undefined, remaining: remaining(ctx) });
          await ctx.done;
          cEnded.resolve(cause(ctx));
        }),
      ),
    );
    const b = await serve(
      http.createServer(
        contextHandler(async (ctx, _req, res) => {
          await clock.advance(50);
          const r = await ctxFetch(ctx, c.url, { marginMs: margin });
          res.end(await r.text());
        }),
      ),
    );
    const a = await serve(
      http.createServer(
        contextHandler(
          async (ctx, _req, res) => {
            await clock.advance(100);
            const r = await ctxFetch(ctx, b.url, { marginMs: margin });
            res.end(await r.text());
          },
          { timeoutMs: 10_000 },
        ),
      ),
    );
    const client = await rawRequest(a.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const got = await cInfo.promise;
    assert.equal(got.header, String(10_000 - 100 - margin - 50 - margin));
    assert.equal(got.remaining, 10_000 - 100 - margin - 50 - margin);
    client.destroy();
    assert.ok((await cEnded.promise) instanceof ClientDisconnectedError, 'C saw the chain collapse');
    await a.close();
    await b.close();
    await c.close();
  } finally {
    clock.restore();
  }
});

test('the response fully sent ends the context with ResponseFinishedError', async () => {
  const ended = deferred<unknown>();
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      void scope.ctx.done.then(() => ended.resolve(cause(scope.ctx)));
      res.end('done');
    }),
  );
  assert.equal(await (await fetch(s.url)).text(), 'done');
  assert.ok((await ended.promise) instanceof ResponseFinishedError);
  await s.close();
});

test('bound late, after the response has been sent: the context is born ended with ResponseFinishedError', async () => {
  const late = new Map<string, ReturnType<typeof deferred<unknown>>>([
    ['/finish', deferred<unknown>()],
    ['/close', deferred<unknown>()],
  ]);
  const s = await serve(
    http.createServer((req, res) => {
      const d = late.get(req.url!)!;
      if (req.url === '/finish') {
        // Sent, its socket already handed back, its 'close' still to come.
        res.on('finish', () => d.resolve(cause(contextFromRequest(req, res).ctx)));
      } else {
        // Its 'close' already emitted: no event is left to wait for.
        res.on('close', () => setImmediate(() => d.resolve(cause(contextFromRequest(req, res).ctx))));
      }
      res.end('done');
    }),
  );
  for (const [path, d] of late) {
    assert.equal(await (await fetch(`${s.url}${path}`)).text(), 'done');
    assert.ok((await d.promise) instanceof ResponseFinishedError, path);
  }
  await s.close();
});

test('bound late, after the client left: the context is born ended with ClientDisconnectedError', async () => {
  const afterClose = deferred<unknown>();
  const afterDestroy = deferred<{ cause: unknown; immediately: boolean }>();
  const got = deferred();
  const s = await serve(
    http.createServer((req, res) => {
      if (req.url === '/destroyed') {
        // The server gave up on the response itself; its 'close' is still to come.
        res.destroy();
        const scope = contextFromRequest(req, res);
        afterDestroy.resolve({ cause: cause(scope.ctx), immediately: scope.ctx.err !== undefined });
        return;
      }
      got.resolve();
      res.on('close', () => {
        setImmediate(() => afterClose.resolve(cause(contextFromRequest(req, res).ctx)));
      });
    }),
  );
  const client = await rawRequest(s.port, 'GET /gone HTTP/1.1\r\nHost: x\r\n\r\n');
  await got.promise;
  client.destroy();
  assert.ok((await afterClose.promise) instanceof ClientDisconnectedError);
  const client2 = await rawRequest(s.port, 'GET /destroyed HTTP/1.1\r\nHost: x\r\n\r\n');
  const d = await afterDestroy.promise;
  assert.ok(d.cause instanceof ClientDisconnectedError);
  assert.ok(d.immediately, 'a destroyed response ends the context at once');
  client2.destroy();
  await s.close();
});

test('raw client gets a 400 head for a malformed header', async () => {
  const s = await serve(
    http.createServer((req, res) => {
      const scope = contextFromRequest(req, res);
      if (scope.ctx.err === undefined) res.end();
    }),
  );
  const sock = await rawRequest(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nctxkit-timeout-ms: 1e3\r\n\r\n');
  const head = await readHead(sock);
  assert.match(head, /^HTTP\/1\.1 400/);
  sock.destroy();
  await s.close();
});

test('no context nor operation left running', () => {
  assert.deepEqual(t.liveKinds(), []);
  assert.deepEqual(t.openOps(), []);
});
