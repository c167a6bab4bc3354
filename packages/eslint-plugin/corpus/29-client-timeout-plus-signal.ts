// An HTTP client wrapper given both the context's signal and its own fixed timeout.
import type { Context } from '@ctxkit/core';

interface HttpClient {
  get<T>(url: string, opts?: { signal?: AbortSignal; timeout?: number; headers?: Record<string, string> }): Promise<T>;
}

export async function loadSettings(ctx: Context, http: HttpClient, account: string): Promise<Record<string, string>> {
  return http.get<Record<string, string>>(`/accounts/${account}/settings`, {
    signal: ctx.signal,
    timeout: 5_000, // expect: no-double-timeout
    headers: { accept: 'application/json' },
  });
}
