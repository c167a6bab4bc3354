// set: independent
// Worker heartbeat: timers/promises setInterval driven by the worker's context signal; the loop
// ends (AbortError, checked) when the worker stops.
import { setInterval as every } from 'node:timers/promises';
import { isContextError, type Context } from '@ctxkit/core';
import type { Db } from '@ctxkit/pg';

export async function heartbeat(ctx: Context, db: Db, workerId: string): Promise<void> {
  try {
    for await (const _ of every(5_000, undefined, { signal: ctx.signal })) {
      await db.query(ctx, 'UPDATE workers SET seen_at = now() WHERE id = $1', [workerId]);
    }
  } catch (e) {
    if (isContextError(e)) return;
    throw e;
  }
}
