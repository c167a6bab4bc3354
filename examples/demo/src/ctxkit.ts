/**
 * The ctxkit twin: the same front and back services, but each request has a context that ends
 * when its client leaves; slow work waits with `sleep(ctx, ms)` and downstream calls carry
 * `ctx` (its signal and its remaining budget). When the client goes, everything started for it
 * stops — here, in the back service, and in the dependency.
 */
import { isContextError, sleep, type Context } from '@ctxkit/core';
import type { Db } from '@ctxkit/pg';
import { loadRows, render } from './servers.js';
import { ID_HEADER, requestId, type Handler } from './meter.js';
import { track, type Env } from './env.js';
import { fetchText, requestContext } from './binding.js';
import { statement } from './db.js';

/**
 * The request's state: its SQL statement through `db.query(ctx, …)` — cancelled inside PostgreSQL
 * when ctx ends — or `sleep(ctx, ms)` standing in without a database.
 */
async function loadState(ctx: Context, db: Db | undefined, id: string, ms: number): Promise<ReturnType<typeof loadRows>> {
  if (db) await db.query(ctx, statement('ctxkit', id), [ms, Number(id)]);
  else await sleep(ctx, ms);
  return loadRows(id);
}

/** Handler budget of the front service; the back receives what is left of it. */
export const FRONT_BUDGET_MS = 3000;

/** Front: authenticate, ask the back service, relay its answer. */
export function ctxkitFront(env: Env, backUrl: string): Handler {
  return async (req, res) => {
    const id = requestId(req);
    const plan = env.plan(id);
    const t = track(env.meter, id, 'front');
    const scope = requestContext(req, res, { maxTimeoutMs: FRONT_BUDGET_MS });
    const ctx = scope.ctx;
    try {
      await t.step('auth', () => sleep(ctx, plan.authMs));
      const answer = await t.call('GET back', () => fetchText(ctx, `${backUrl}/order`, { [ID_HEADER]: id }));
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(isContextError(e) ? 504 : 502).end();
    } finally {
      scope.cancel();
    }
  };
}

/** Back: load the request's state (SQL), call the slow dependency, render. */
export function ctxkitBack(env: Env, dependencyUrl: string, db?: Db): Handler {
  return async (req, res) => {
    const id = requestId(req);
    const plan = env.plan(id);
    const t = track(env.meter, id, 'back');
    const scope = requestContext(req, res);
    const ctx = scope.ctx;
    try {
      const rows = await (db ? t.query : t.step)('load', () => loadState(ctx, db, id, plan.loadMs));
      const quote = await t.call('GET dependency', async () => {
        const r = await fetchText(ctx, `${dependencyUrl}/quote?ms=${plan.dependencyMs}`, { [ID_HEADER]: id });
        return JSON.parse(r.body) as unknown;
      });
      const body = await t.step('render', async () => {
        await sleep(ctx, plan.renderMs);
        return render(rows, quote);
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(isContextError(e) ? 504 : 502).end();
    } finally {
      scope.cancel();
    }
  };
}
