// Polls a job's status with an abortable delay between polls.
import { setTimeout as delay } from 'node:timers/promises';

export async function waitForJob(signal: AbortSignal, jobUrl: string): Promise<string> {
  for (;;) {
    const res = await fetch(jobUrl, { signal });
    const { state } = (await res.json()) as { state: string };
    if (state === 'done' || state === 'failed') return state;
    await delay(1_000, undefined, { signal });
  }
}
