// The README's node:http example, on ephemeral ports, checked end to end: the answer arrives,
// and a client leaving mid-call stops the downstream service too.
//
// Time runs on a manual clock, so prices' 3 s sleep ends only when the test advances it: the
// first call is answered when the test moves time on, and during the second time stands still,
// so the client's leaving is the only thing that can end prices' work, however slow the machine.
// (On the real clock, with the 200 ms sleep the example had before, a stall of 200 ms anywhere between prices starting and the disconnect
// reaching it let prices answer first, and the test failed.)
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { cause, sleep, type Context } from '@ctxkit/core';
import { ClientDisconnectedError, contextHandler, ctxFetch } from '@ctxkit/http';
import { closeAll, deferred, rawRequest, serve } from './helpers.js';

leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

type Handler = (ctx: Context, req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

/** One call a service received: its request context, and its handler's promise (how the work ended). */
interface Call {
  ctx: Context;
  work: Promise<void>;
}

/** Wraps `handler` so each call is reported, in order, to `calls` once the handler is running. */
function reporting(handler: Handler, calls: Array<ReturnType<typeof deferred<Call>>>): Handler {
  let n = 0;
  return (ctx, req, res) => {
    const work = handler(ctx, req, res); // runs up to its first await: prices' sleep is armed
    calls[n++]?.resolve({ ctx, work });
    return work;
  };
}

// A failure must never turn into a hang: every wait below is on an event, and this bound cancels
// the test (afterEach then closes the servers) if one of those events never comes.
test('README example: answer, and a client leaving mid-call stops both services', { timeout: 30_000 }, async () => {
  const clock = useManualClock();
  try {
    const pricesCalls = [deferred<Call>(), deferred<Call>()];
    const frontCalls = [deferred<Call>(), deferred<Call>()];

    // The README's two handlers, as written there (the port of prices aside).
    const prices = await serve(
      http.createServer(
        contextHandler(
          reporting(async (ctx, _req, res) => {
            await sleep(ctx, 3000); // rejects with ctx.err the moment the caller leaves
            res.end(JSON.stringify({ price: 42 }));
          }, pricesCalls),
        ),
      ),
    );
    const front = await serve(
      http.createServer(
        contextHandler(
          reporting(async (ctx, _req, res) => {
            const r = await ctxFetch(ctx, `${prices.url}/price`);
            res.end(await r.text());
          }, frontCalls),
          { timeoutMs: 5000 },
        ),
      ),
    );

    // The answer arrives once prices' 3 s have passed.
    const answer = fetch(front.url).then((r) => r.text());
    await pricesCalls[0]!.promise;
    await clock.advance(3000);
    assert.equal(await answer, '{"price":42}');

    // A client leaves while prices is still working on its call (time stands still meanwhile).
    const client = await rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const upstream = await frontCalls[1]!.promise;
    const downstream = await pricesCalls[1]!.promise;
    client.destroy();
    await Promise.all([upstream.ctx.done, downstream.ctx.done]);
    assert.ok(cause(upstream.ctx) instanceof ClientDisconnectedError, 'front stopped: its client went away');
    assert.ok(cause(downstream.ctx) instanceof ClientDisconnectedError, 'prices stopped: its caller (front) went away');
    await assert.rejects(downstream.work, (e) => e === downstream.ctx.err, "prices' sleep rejected with ctx.err");
    await front.close();
    await prices.close();
  } finally {
    clock.restore();
  }
});
