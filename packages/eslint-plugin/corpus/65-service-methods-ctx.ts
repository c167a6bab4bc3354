// A service class whose methods take ctx as their first parameter instead of storing it.
import type { Context } from '@ctxkit/core';

export interface Account { id: string; email: string; plan: 'free' | 'pro' }

export class AccountService {
  constructor(private readonly base: string) {}

  async find(ctx: Context, id: string): Promise<Account> {
    const res = await fetch(`${this.base}/accounts/${id}`, { signal: ctx.signal });
    return (await res.json()) as Account;
  }

  async upgrade(ctx: Context, id: string): Promise<Account> {
    const current = await this.find(ctx, id);
    if (current.plan === 'pro') return current;
    const res = await fetch(`${this.base}/accounts/${id}/plan`, { method: 'PUT', body: 'pro', signal: ctx.signal });
    return (await res.json()) as Account;
  }
}
