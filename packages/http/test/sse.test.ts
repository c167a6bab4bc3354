import { test, after, afterEach } from 'node:test';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import assert from 'node:assert/strict';
import http from 'node:http';
import { DeadlineExceededError, cause, race, type Context } from '@ctxkit/core';
import { ClientDisconnectedError, contextFromRequest, formatEvent, sendEvents } from '@ctxkit/http';
import { closeAll, deferred, serve, tally } from './helpers.js';

const t = tally();
after(() => t.stop());
leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

/** Reads an SSE response as text, resolving `waitFor(s)` once `s` has been received. */
function reader(res: http.IncomingMessage) {
  let text = '';
  const waiting: Array<{ s: string; resolve(): void }> = [];
  res.setEncoding('utf8');
  res.on('data', (c: string) => {
    text += c;
    for (const w of [...waiting]) {
      if (text.includes(w.s)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const ended = new Promise<void>((resolve) => res.on('end', resolve));
  return {
    text: () => text,
    ended,
    waitFor(s: string): Promise<void> {
      if (text.includes(s)) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ s, resolve }));
    },
  };
}

function get(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(url, resolve).on('error', reject));
}

test('events are written in SSE format, heartbeats follow the (manual) clock, the stream ends with the source', async () => {
  const clock = useManualClock();
  try {
    const release = deferred();
    const outcome = deferred<unknown>();
    const s = await serve(
      http.createServer((req, res) => {
        const scope = contextFromRequest(req, res);
        sendEvents(
          scope.ctx,
          res,
          async function* (ctx: Context) {
            yield { event: 'greeting', id: '1', data: 'hello\nworld' };
            await race(ctx, release.promise);
            yield { data: { n: 2 } };
          },
          { heartbeatMs: 1000 },
        ).then(
          () => outcome.resolve('resolved'),
          (e: unknown) => outcome.resolve(e),
        );
      }),
    );
    const res = await get(s.url);
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const r = reader(res);
    await r.waitFor('data: world\n\n');
    assert.ok(r.text().includes('event: greeting\nid: 1\ndata: hello\ndata: world\n\n'));
    await clock.advance(1000);
    await r.waitFor(': heartbeat\n\n');
    release.resolve();
    await r.ended;
    assert.ok(r.text().endsWith('data: {"n":2}\n\n'));
    assert.equal(await outcome.promise, 'resolved');
    assert.equal(clock.pending(), 0, 'heartbeat timer cleared');
    await s.close();
  } finally {
    clock.restore();
  }
});

test('client disconnects: sendEvents rejects with ctx.err, the source is returned, the heartbeat released', async () => {
  const clock = useManualClock();
  try {
    const finallyRan = deferred();
    const outcome = deferred<{ e: unknown; ctx: Context }>();
    const s = await serve(
      http.createServer((req, res) => {
        const scope = contextFromRequest(req, res);
        sendEvents(
          scope.ctx,
          res,
          async function* (ctx: Context) {
            try {
              yield 'first';
              await race(ctx, new Promise(() => {}));
            } finally {
              finallyRan.resolve();
            }
          },
          { heartbeatMs: 500 },
        ).catch((e: unknown) => outcome.resolve({ e, ctx: scope.ctx }));
      }),
    );
    const res = await get(s.url);
    const r = reader(res);
    await r.waitFor('data: first\n\n');
    res.destroy();
    const { e, ctx } = await outcome.promise;
    assert.equal(e, ctx.err);
    assert.ok(cause(ctx) instanceof ClientDisconnectedError);
    await finallyRan.promise;
    assert.equal(clock.pending(), 0, 'no heartbeat timer left');
    await s.close();
  } finally {
    clock.restore();
  }
});

test('the budget runs out: the stream is ended for the client and sendEvents rejects with DeadlineExceededError', async () => {
  const clock = useManualClock();
  try {
    const outcome = deferred<{ e: unknown; ctx: Context }>();
    const s = await serve(
      http.createServer((req, res) => {
        const scope = contextFromRequest(req, res, { timeoutMs: 5000 });
        sendEvents(
          scope.ctx,
          res,
          async function* (ctx: Context) {
            yield 'only';
            await race(ctx, new Promise(() => {}));
          },
          { heartbeatMs: 0 },
        ).catch((e: unknown) => outcome.resolve({ e, ctx: scope.ctx }));
      }),
    );
    const res = await get(s.url);
    const r = reader(res);
    await r.waitFor('data: only\n\n');
    await clock.advance(5000);
    await r.ended;
    const { e, ctx } = await outcome.promise;
    assert.equal(e, ctx.err);
    assert.ok(e instanceof DeadlineExceededError);
    await s.close();
  } finally {
    clock.restore();
  }
});

test('formatEvent rejects line breaks where the protocol forbids them', () => {
  assert.throws(() => formatEvent({ event: 'a\nb', data: 'x' }), /event/);
  assert.throws(() => formatEvent({ id: 'a\rb', data: 'x' }), /id/);
  assert.equal(formatEvent('a\r\nb'), 'data: a\ndata: b\n\n');
});

test('no context nor operation left running', () => {
  assert.deepEqual(t.liveKinds(), []);
  assert.deepEqual(t.openOps(), []);
});
