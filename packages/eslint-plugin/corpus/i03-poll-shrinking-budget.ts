// set: independent
// Polls a job's status until done, giving each poll "a bit less time" by deriving from the
// previous poll's context: the chain grows every iteration and no scope is ever cancelled.
import { sleep, withTimeout, type Context } from '@ctxkit/core';

export async function waitForJob(ctx: Context, jobId: string): Promise<string> {
  let pollCtx = ctx;
  for (;;) {
    pollCtx = withTimeout(pollCtx, 2_000).ctx; // expect: lost-cancel, no-value-in-loop
    const res = await fetch(`http://jobs.internal/jobs/${jobId}`, { signal: pollCtx.signal });
    const { state } = (await res.json()) as { state: string };
    if (state === 'done' || state === 'failed') return state;
    await sleep(ctx, 500);
  }
}
