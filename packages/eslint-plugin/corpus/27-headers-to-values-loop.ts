// Copies allow-listed headers into context values, re-deriving the same variable each time.
import { createKey, withValue, type Context, type Key } from '@ctxkit/core';

const keys: Record<string, Key<string>> = {
  'x-tenant': createKey<string>('tenant'),
  'x-user': createKey<string>('user'),
  'x-locale': createKey<string>('locale'),
};

export function fromHeaders(ctx: Context, headers: Record<string, string | undefined>): Context {
  for (const [name, key] of Object.entries(keys)) {
    const value = headers[name];
    if (value !== undefined) ctx = withValue(ctx, key, value); // expect: no-value-in-loop
  }
  return ctx;
}
