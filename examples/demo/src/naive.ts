/**
 * The naive twin: the front and back services written the way most Node services are today.
 * Slow work waits on plain timers, the SQL statement goes through plain `pool.query`, downstream
 * calls use `fetch` without a signal, and nothing notices that the client went away — so every
 * step runs to the end for nobody.
 */
import type { RequestListener } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
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

/** Front: authenticate, ask the back service, relay its answer. */
export function naiveFront(env: Env, backUrl: string): RequestListener {
  return (req, res) => {
    const id = requestId(req);
    void env.meter.handle('front', id, async () => {
      const plan = env.plan(id);
      const t = track(env.meter, id, 'front');
      try {
        await t.step('auth', () => delay(plan.authMs));
        const answer = await t.call('GET back', async () => {
          const r = await fetch(`${backUrl}/order`, { headers: { [ID_HEADER]: id } });
          return { status: r.status, body: await r.text() };
        });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      } catch (e) {
        if (!res.headersSent) res.writeHead(502).end();
        throw e;
      }
    }).catch(() => {});
  };
}

/** Back: load the request's state (SQL), call the slow dependency, render. */
export function naiveBack(env: Env, dependencyUrl: string, pool?: pg.Pool): RequestListener {
  return (req, res) => {
    const id = requestId(req);
    void env.meter.handle('back', id, async () => {
      const plan = env.plan(id);
      const t = track(env.meter, id, 'back');
      try {
        const rows = await (pool ? t.query : t.step)('load', () => loadState(pool, id, plan.loadMs));
        const quote = await t.call('GET dependency', async () => {
          const r = await fetch(`${dependencyUrl}/quote?ms=${plan.dependencyMs}`, { headers: { [ID_HEADER]: id } });
          return (await r.json()) as unknown;
        });
        const body = await t.step('render', async () => {
          await delay(plan.renderMs);
          return render(rows, quote);
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch (e) {
        if (!res.headersSent) res.writeHead(502).end();
        throw e;
      }
    }).catch(() => {});
  };
}
