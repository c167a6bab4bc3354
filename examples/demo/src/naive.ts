/**
 * The naive twin: the front (Express) and back (Hono) services written the way most Node
 * services are today. Slow work waits on plain timers, the SQL statement goes through plain `pool.query`, downstream
 * calls use `fetch` without a signal, and nothing notices that the client went away — so every
 * step runs to the end for nobody.
 */
import type { RequestListener } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import express from 'express';
import { Hono } from 'hono';
import { getRequestListener } from '@hono/node-server';
import { loadRows, render } from './servers.js';
import { ID_HEADER, requestId } from './meter.js';
import { track, type Env } from './env.js';
import { statement } from './db.js';

/** The request's state: its SQL statement (plain `pool.query`), or a timer standing in without a database. */
async function loadState(pool: pg.Pool | undefined, id: string, ms: number): Promise<ReturnType<typeof loadRows>> {
  if (pool) await pool.query(statement('naive', id), [ms, Number(id)]);
  else await delay(ms);
  return loadRows(id);
}

/** Front (Express 5): authenticate, ask the back service, relay its answer. */
export function naiveFront(env: Env, backUrl: string): RequestListener {
  const app = express();
  app.get('/order', async (req, res) => {
    const id = requestId(req);
    await env.meter
      .handle('front', id, async () => {
        const plan = env.plan(id);
        const t = track(env.meter, id, 'front');
        await t.step('auth', () => delay(plan.authMs));
        const answer = await t.call('GET back', async () => {
          const r = await fetch(`${backUrl}/order`, { headers: { [ID_HEADER]: id } });
          return { status: r.status, body: await r.text() };
        });
        res.status(answer.status).type('application/json').send(answer.body);
      })
      .catch(() => {
        if (!res.headersSent) res.status(502).end();
      });
  });
  return app;
}

/** Back (Hono on @hono/node-server): load the request's state (SQL), call the slow dependency, render. */
export function naiveBack(env: Env, dependencyUrl: string, pool?: pg.Pool): RequestListener {
  const app = new Hono();
  app.get('/order', (c) => {
    const id = c.req.header(ID_HEADER) ?? '?';
    return env.meter
      .handle('back', id, async () => {
        const plan = env.plan(id);
        const t = track(env.meter, id, 'back');
        const rows = await (pool ? t.query : t.step)('load', () => loadState(pool, id, plan.loadMs));
        const quote = await t.call('GET dependency', async () => {
          const r = await fetch(`${dependencyUrl}/quote?ms=${plan.dependencyMs}`, { headers: { [ID_HEADER]: id } });
          return (await r.json()) as unknown;
        });
        const body = await t.step('render', async () => {
          await delay(plan.renderMs);
          return render(rows, quote);
        });
        return c.body(body, 200, { 'content-type': 'application/json' });
      })
      .catch(() => c.body(null, 502));
  });
  return getRequestListener(app.fetch);
}
