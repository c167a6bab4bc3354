// set: holdout
// Geo-IP enrichment that turns every error into "unknown location".
import type { Context } from '@ctxkit/core';

export async function locate(ctx: Context, ip: string): Promise<string | null> {
  try {
    const res = await fetch(`http://geoip.internal/${ip}`, { signal: ctx.signal });
    const { country } = (await res.json()) as { country?: string };
    return country ?? null;
  } catch (error) { // expect: no-swallowed-cancel
    console.debug('geoip lookup failed', error);
    return null;
  }
}
