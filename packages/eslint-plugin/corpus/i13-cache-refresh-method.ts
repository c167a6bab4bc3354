// set: independent
// Stale-while-revalidate cache as a class: a stale hit kicks off a refresh on the caller's context
// and returns. The refresh dies with the request and its failure is unobserved.
import type { Context } from '@ctxkit/core';

export class ExchangeRates {
  private rates = new Map<string, { value: number; fetchedAt: number }>();

  async rate(ctx: Context, currency: string): Promise<number> {
    const entry = this.rates.get(currency);
    if (entry) {
      if (Date.now() - entry.fetchedAt > 60_000) {
        this.refresh(ctx, currency); // expect: no-floating-work
      }
      return entry.value;
    }
    return this.refresh(ctx, currency);
  }

  private async refresh(ctx: Context, currency: string): Promise<number> {
    const res = await fetch(`https://fx.example.com/latest?base=EUR&symbols=${currency}`, { signal: ctx.signal });
    const body = (await res.json()) as { rates: Record<string, number> };
    const value = body.rates[currency] ?? Number.NaN;
    this.rates.set(currency, { value, fetchedAt: Date.now() });
    return value;
  }
}
