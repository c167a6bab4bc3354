/**
 * The ctxkit twin: the same front (Express) and back (Hono) services, but each request has a
 * context that ends when its client leaves (the @ctxkit/http adapters); slow work waits with
 * `sleep(ctx, ms)`, the SQL statement is `db.query(ctx, …)` (@ctxkit/pg, cancelled inside
 * PostgreSQL), and downstream calls are `ctxFetch(ctx, …)`, which aborts with ctx and sends the
 * remaining budget. When the client goes, everything started for it stops — here, in the back
 * service, in the database and in the dependency.
 */
import type { RequestListener } from 'node:http';
import express from 'express';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { isContextError, sleep, type Context } from '@ctxkit/core';
import { ctxFetch } from '@ctxkit/http';
import { contextMiddleware as expressContext, getContext as getExpressContext } from '@ctxkit/http/express';
import { contextMiddleware as honoContext, getContext as getHonoContext } from '@ctxkit/http/hono';
import type { Db } from '@ctxkit/pg';
import { loadRows, render } from './servers.js';
import { ID_HEADER, requestId } from './meter.js';
import { track, type Env } from './env.js';
import { statement } from './db.js';

/** Handler budget of the front service; the back receives what is left of it. */
export const FRONT_BUDGET_MS = 3000;

/**
 * The request's state: its SQL statement through `db.query(ctx, …)` — cancelled inside PostgreSQL
 * when ctx ends — or `sleep(ctx, ms)` standing in without a database.
 */
async function loadState(ctx: Context, db: Db | undefined, id: string, ms: number): Promise<ReturnType<typeof loadRows>> {
  if (db) await db.query(ctx, statement('ctxkit', id), [ms, Number(id)]);
  else await sleep(ctx, ms);
  return loadRows(id);
}

/**
 * Front (Express 5 + `@ctxkit/http/express`): authenticate, ask the back service, relay its
 * answer. The middleware gives each request a context that ends when the client leaves, after
 * FRONT_BUDGET_MS, or once the response is sent.
 */
export function ctxkitFront(env: Env, backUrl: string): RequestListener {
  const app = express();
  app.use(expressContext({ timeoutMs: FRONT_BUDGET_MS }));
  app.get('/order', async (req, res) => {
    const ctx = getExpressContext(req);
    const id = requestId(req);
    await env.meter
      .handle('front', id, async () => {
        const plan = env.plan(id);
        const t = track(env.meter, id, 'front');
        await t.step('auth', () => sleep(ctx, plan.authMs));
        const answer = await t.call('GET back', async () => {
          const r = await ctxFetch(ctx, `${backUrl}/order`, { headers: { [ID_HEADER]: id } });
          return { status: r.status, body: await r.text() };
        });
        res.status(answer.status).type('application/json').send(answer.body);
      })
      .catch((e: unknown) => {
        // Budget spent → 504; client gone → the socket is closed, nothing to send.
        if (!res.headersSent) res.status(isContextError(e) ? 504 : 502).end();
      });
  });
  return app;
}

/**
 * Back (Hono on @hono/node-server + `@ctxkit/http/hono`): load the request's state (SQL), call
 * the slow dependency, render. Its context carries the budget the front sent.
 */
export function ctxkitBack(env: Env, dependencyUrl: string, db?: Db): RequestListener {
  const app = new Hono();
  // The budget comes from the caller (ctxkit-timeout-ms), but never more than this service allows.
  app.use(honoContext({ maxTimeoutMs: FRONT_BUDGET_MS }));
  app.get('/order', (c) => {
    const ctx = getHonoContext(c);
    const id = c.req.header(ID_HEADER) ?? '?';
    return env.meter
      .handle('back', id, async () => {
        const plan = env.plan(id);
        const t = track(env.meter, id, 'back');
        const rows = await (db ? t.query : t.step)('load', () => loadState(ctx, db, id, plan.loadMs));
        const quote = await t.call('GET dependency', async () => {
          const r = await ctxFetch(ctx, `${dependencyUrl}/quote?ms=${plan.dependencyMs}`, { headers: { [ID_HEADER]: id } });
          return (await r.json()) as unknown;
        });
        const body = await t.step('render', async () => {
          await sleep(ctx, plan.renderMs);
          return render(rows, quote);
        });
        return c.body(body, 200, { 'content-type': 'application/json' });
      })
      .catch((e: unknown) => c.body(null, isContextError(e) ? 504 : 502));
  });
  return getRequestListener(app.fetch);
}
