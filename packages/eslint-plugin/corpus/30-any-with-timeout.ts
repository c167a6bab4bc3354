// Combines the caller's signal with a private timeout through AbortSignal.any.
import type { Context } from '@ctxkit/core';

export async function geocode(ctx: Context, address: string): Promise<[number, number]> {
  const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(2_500)]); // expect: no-double-timeout
  const res = await fetch(`https://geo.example.com/?q=${encodeURIComponent(address)}`, { signal });
  const { lat, lon } = (await res.json()) as { lat: number; lon: number };
  return [lat, lon];
}
