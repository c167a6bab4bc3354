/**
 * The ctxkit twin: the same front and back services, but each request has a context that ends
 * when its client leaves (`contextHandler` from @ctxkit/http); slow work waits with
 * `sleep(ctx, ms)`, the SQL statement is `db.query(ctx, …)` (@ctxkit/pg, cancelled inside
 * PostgreSQL), and downstream calls are `ctxFetch(ctx, …)`, which aborts with ctx and sends the
 * remaining budget. When the client goes, everything started for it stops — here, in the back
 * service, in the database and in the dependency.
 */
import type { RequestListener } from 'node:http';
import { sleep, type Context } from '@ctxkit/core';
import { contextHandler, ctxFetch } from '@ctxkit/http';
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
 * Front: authenticate, ask the back service, relay its answer. `contextHandler` makes the
 * request's context (ending when the client leaves or after FRONT_BUDGET_MS) and answers 504 /
 * nothing / 500 when the handler rejects (budget spent / client gone / other).
 */
export function ctxkitFront(env: Env, backUrl: string): RequestListener {
  return contextHandler((ctx, req, res) => {
    const id = requestId(req);
    return env.meter.handle('front', id, async () => {
      const plan = env.plan(id);
      const t = track(env.meter, id, 'front');
      await t.step('auth', () => sleep(ctx, plan.authMs));
      const answer = await t.call('GET back', async () => {
        const r = await ctxFetch(ctx, `${backUrl}/order`, { headers: { [ID_HEADER]: id } });
        return { status: r.status, body: await r.text() };
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  }, { timeoutMs: FRONT_BUDGET_MS });
}

/** Back: load the request's state (SQL), call the slow dependency, render. Its budget is the one the front sent. */
export function ctxkitBack(env: Env, dependencyUrl: string, db?: Db): RequestListener {
  return contextHandler((ctx, req, res) => {
    const id = requestId(req);
    return env.meter.handle('back', id, async () => {
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
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
}
