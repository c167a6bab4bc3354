// Cancel a two-hop call chain at every cancellation point and check, each time, that it rejects
// with the context error and that BOTH servers downstream ended their request contexts.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { exploreCancellation, leakCheckAfterAll } from '@ctxkit/testing';
import { sleep, type Context } from '@ctxkit/core';
import { contextHandler, ctxFetch } from '@ctxkit/http';
import { closeAll, serve } from './helpers.js';

leakCheckAfterAll(after);
afterEach(closeAll); // a failing test leaves no server open to hang the file

/** Counts request contexts still live on a server; `idle()` resolves when none is. */
function inflight() {
  const live = new Set<Context>();
  let waiters: Array<() => void> = [];
  return {
    add(ctx: Context) {
      live.add(ctx);
      void ctx.done.then(() => {
        live.delete(ctx);
        if (live.size === 0) {
          const w = waiters;
          waiters = [];
          for (const f of w) f();
        }
      });
    },
    idle(): Promise<void> {
      return live.size === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

test('exploreCancellation: a ctxFetch chain stops on both far sides at every cancellation point', async () => {
  const bLive = inflight();
  const aLive = inflight();
  const b = await serve(
    http.createServer(
      contextHandler(async (ctx, _req, res) => {
        bLive.add(ctx);
        await sleep(ctx, 2);
        res.end(JSON.stringify({ from: 'b' }));
      }),
    ),
  );
  const a = await serve(
    http.createServer(
      contextHandler(async (ctx, _req, res) => {
        aLive.add(ctx);
        const r = await ctxFetch(ctx, b.url);
        const body = (await r.json()) as { from: string };
        res.end(JSON.stringify({ via: 'a', ...body }));
      }),
    ),
  );
  const result = await exploreCancellation(
    async (ctx) => {
      const r1 = await ctxFetch(ctx, a.url);
      const first = (await r1.json()) as { from: string };
      await sleep(ctx, 1);
      const r2 = await ctxFetch(ctx, `${a.url}/again`);
      return [first, await r2.text()];
    },
    {
      timeoutMs: 5000,
      // The far sides must have ended every request context (not merely the local promise rejected).
      invariant: async () => {
        await Promise.all([aLive.idle(), bLive.idle()]);
        return true;
      },
    },
  );
  assert.deepEqual(result.failures, []);
  assert.deepEqual(result.unreached, []);
  assert.ok(result.points >= 3, `found ${result.points} points`);
  console.error(`# explored ${result.explored.length} of ${result.points} cancellation points`);
  await a.close();
  await b.close();
});
