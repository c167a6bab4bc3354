// The README's node:http and server-sent events examples, on ephemeral ports, checked end to end:
// the answer arrives, a downstream 504 is answered 504 (not relayed as a 200), a client leaving
// mid-call stops the downstream service too; the event stream runs and stops with its client.
// The code under test is the README's: each test first checks that the README's block holds it.
//
// Time runs on a manual clock, so prices' 3 s sleep ends only when the test advances it: the
// first call is answered when the test moves time on, and during the second time stands still,
// so the client's leaving is the only thing that can end prices' work, however slow the machine.
// (On the real clock, with the 200 ms sleep the example had before, a stall of 200 ms anywhere between prices starting and the disconnect
// reaching it let prices answer first, and the test failed.)
import { readFileSync } from 'node:fs';
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { cause, isDeadlineExceeded, sleep, type Context } from '@ctxkit/core';
import { ClientDisconnectedError, contextHandler, ctxFetch, sendEvents } from '@ctxkit/http';
import { closeAll, deferred, rawRequest, serve } from './helpers.js';

leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

/** The first ```ts block after the README heading `heading`. */
function readmeBlock(heading: string): string {
  const at = README.indexOf(`\n## ${heading}\n`);
  assert.ok(at >= 0, `README has a "## ${heading}" section`);
  const start = README.indexOf('```ts\n', at);
  return README.slice(start, README.indexOf('\n```', start + 1));
}

/** Asserts the README block holds each of `lines` (trimmed), so the test runs what users read. */
function assertReadmeHas(block: string, lines: string[]): void {
  const got = block.split('\n').map((l) => l.trim());
  for (const line of lines) assert.ok(got.includes(line.trim()), `README example has: ${line}`);
}

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
test('README example: answer, a downstream 504 answered 504, a client leaving mid-call stops both services', {
  timeout: 30_000,
}, async () => {
  assertReadmeHas(readmeBlock('node:http (runnable)'), [
    "import http from 'node:http';",
    'await sleep(ctx, 3000); // rejects with ctx.err the moment the caller leaves',
    'res.end(JSON.stringify({ price: 42 }));',
    "const r = await ctxFetch(ctx, 'http://127.0.0.1:3001/price'); // sends ctx's remaining budget",
    'if (!r.ok) {',
    'await r.body?.cancel(); // read or cancel every body',
    'res.writeHead(r.status === 504 ? 504 : 502).end();',
    "res.writeHead(200, { 'content-type': 'application/json' });",
    'res.end(await r.text()); // the body read is bound to ctx too',
    '}, { timeoutMs: 5000 }));',
    'prices.listen(3001);',
    'front.listen(3000);',
  ]);
  const clock = useManualClock();
  try {
    const pricesCalls = [deferred<Call>(), deferred<Call>(), deferred<Call>()];
    const frontCalls = [deferred<Call>(), deferred<Call>(), deferred<Call>()];

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
            if (!r.ok) {
              await r.body?.cancel();
              res.writeHead(r.status === 504 ? 504 : 502).end();
              return;
            }
            res.writeHead(200, { 'content-type': 'application/json' });
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

    // A caller that gives front 2 s: prices, sent 1995 ms (front's budget minus the 5 ms margin),
    // runs out of it before its 3 s of work while front still has 4 ms left. prices answers 504,
    // and front says so — not 200 with prices' error body.
    const late = fetch(front.url, { headers: { 'ctxkit-timeout-ms': '2000' } });
    const pricesLate = await pricesCalls[1]!.promise;
    await clock.advance(1996);
    const r = await late;
    assert.ok(isDeadlineExceeded(pricesLate.ctx.err), "prices' budget ran out");
    assert.equal(r.status, 504, 'the downstream 504 is answered 504');
    assert.equal(await r.text(), '');

    // A client leaves while prices is still working on its call (time stands still meanwhile).
    const client = await rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const upstream = await frontCalls[2]!.promise;
    const downstream = await pricesCalls[2]!.promise;
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

test('README server-sent events example: it listens, ticks with the clock, and stops when the client leaves', {
  timeout: 30_000,
}, async () => {
  assertReadmeHas(readmeBlock('Server-sent events'), [
    "import http from 'node:http';",
    "import { sleep } from '@ctxkit/core';",
    "import { contextHandler, sendEvents } from '@ctxkit/http';",
    'const events = http.createServer(contextHandler((ctx, _req, res) =>',
    'sendEvents(ctx, res, async function* (ctx) {',
    "yield { event: 'tick', id: String(i), data: { i } };",
    'await sleep(ctx, 1000);',
    '}, { heartbeatMs: 15_000 }),',
    'events.listen(3000);',
  ]);
  const clock = useManualClock();
  const errors: unknown[][] = [];
  const consoleError = console.error;
  console.error = (...args: unknown[]) => {
    errors.push(args);
  };
  try {
    const streams = [deferred<Call>()];
    const sourceEnded = deferred();
    // The README's server, as written there (the port aside).
    const events = await serve(
      http.createServer(
        contextHandler(
          reporting(
            (ctx, _req, res) =>
              sendEvents(
                ctx,
                res,
                async function* (ctx) {
                  try {
                    for (let i = 0; ; i++) {
                      yield { event: 'tick', id: String(i), data: { i } };
                      await sleep(ctx, 1000);
                    }
                  } finally {
                    sourceEnded.resolve();
                  }
                },
                { heartbeatMs: 15_000 },
              ),
            streams,
          ),
        ),
      ),
    );
    const client = new AbortController();
    const res = await fetch(events.url, { signal: client.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const until = async (s: string): Promise<void> => {
      while (!text.includes(s)) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before ${JSON.stringify(s)}`);
        text += value;
      }
    };
    await until('data: {"i":0}\n\n');
    await clock.advance(1000);
    await until('event: tick\nid: 1\ndata: {"i":1}\n\n');
    const { ctx, work } = await streams[0]!.promise;
    client.abort();
    await ctx.done;
    assert.ok(cause(ctx) instanceof ClientDisconnectedError, 'the client leaving ends the stream');
    await sourceEnded.promise; // the source's iterator was returned
    await assert.rejects(work, (e) => e === ctx.err, 'sendEvents rejects with ctx.err');
    await events.close();
    assert.deepEqual(errors, [], 'nothing logged');
  } finally {
    console.error = consoleError;
    clock.restore();
  }
});
