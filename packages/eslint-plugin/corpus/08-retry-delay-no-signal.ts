// Retry with exponential backoff; the backoff sleep ignores the caller's signal.
import { setTimeout as delay } from 'node:timers/promises';

export async function withRetries<T>(signal: AbortSignal, attempts: number, op: (signal: AbortSignal) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await op(signal);
    } catch (e) {
      if (signal.aborted) throw e;
      lastError = e;
    }
    await delay(100 * 2 ** i); // expect: pass-context
  }
  throw lastError;
}
