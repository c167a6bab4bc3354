// set: independent
// Job worker: on success the job is acked, on the worker's cancellation it is released back to
// the queue — on a detached context with its own 2 s budget, because the worker's context is
// already ended by then.
import { isContextError, withTimeout, withoutCancel, type Context } from '@ctxkit/core';

export interface Job { id: string; payload: unknown }
export interface JobQueue {
  reserve(ctx: Context, queue: string): Promise<Job | undefined>;
  ack(ctx: Context, jobId: string): Promise<void>;
  release(ctx: Context, jobId: string, delayMs: number): Promise<void>;
  fail(ctx: Context, jobId: string, reason: string): Promise<void>;
}

export async function workOne(ctx: Context, q: JobQueue, run: (ctx: Context, job: Job) => Promise<void>): Promise<boolean> {
  const job = await q.reserve(ctx, 'emails');
  if (!job) return false;
  try {
    await run(ctx, job);
    await q.ack(ctx, job.id);
  } catch (e) {
    using cleanup = withTimeout(withoutCancel(ctx), 2_000);
    if (isContextError(e)) {
      await q.release(cleanup.ctx, job.id, 0);
      throw e;
    }
    await q.fail(cleanup.ctx, job.id, e instanceof Error ? e.message : String(e));
  }
  return true;
}
