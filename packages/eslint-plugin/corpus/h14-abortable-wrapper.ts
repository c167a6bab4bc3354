// set: holdout
// Adapts a callback API to a promise that rejects with the context's error when it ends first.
import { race, type Context } from '@ctxkit/core';

interface Legacy { lookup(name: string, cb: (err: Error | null, addr?: string) => void): void }

export function resolveName(ctx: Context, dns: Legacy, name: string): Promise<string> {
  const p = new Promise<string>((resolve, reject) => {
    dns.lookup(name, (err, addr) => (err ? reject(err) : resolve(addr ?? '')));
  });
  return race(ctx, p);
}
