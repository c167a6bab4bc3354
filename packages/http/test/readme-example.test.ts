// The README's node:http example, on ephemeral ports, checked end to end: the answer arrives,
// and a client leaving mid-call stops the downstream service too.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { cause, sleep, type Context } from '@ctxkit/core';
import { ClientDisconnectedError, contextHandler, ctxFetch } from '@ctxkit/http';
import { deferred, rawRequest, serve } from './helpers.js';

leakCheckAfterAll(after);

test('README example: answer, and a client leaving mid-call stops both services', async () => {
  const arrivals: Array<ReturnType<typeof deferred<Context>>> = [deferred(), deferred()];
  let n = 0;
  const prices = await serve(http.createServer(contextHandler(async (ctx, _req, res) => {
    arrivals[n++]?.resolve(ctx);
    await sleep(ctx, 200); // rejects with ctx.err the moment the caller leaves
    res.end(JSON.stringify({ price: 42 }));
  })));
  const front = await serve(http.createServer(contextHandler(async (ctx, _req, res) => {
    const r = await ctxFetch(ctx, `${prices.url}/price`);
    res.end(await r.text());
  }, { timeoutMs: 2000 })));

  assert.equal(await (await fetch(front.url)).text(), '{"price":42}');

  const client = await rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const downstream = await arrivals[1]!.promise;
  client.destroy();
  await downstream.done;
  assert.ok(cause(downstream) instanceof ClientDisconnectedError, 'prices stopped: its caller (front) went away');
  await front.close();
  await prices.close();
});
