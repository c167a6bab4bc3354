// A repository that captures the context at construction and reuses it for every query.
import type { Context } from '@ctxkit/core';

export interface Invoice { id: string; cents: number }

export class InvoiceRepository {
  constructor(private readonly ctx: Context, private readonly baseUrl: string) {} // expect: no-context-in-field

  async byId(id: string): Promise<Invoice> {
    const res = await fetch(`${this.baseUrl}/invoices/${id}`, { signal: this.ctx.signal });
    return (await res.json()) as Invoice;
  }

  async list(customer: string): Promise<Invoice[]> {
    const res = await fetch(`${this.baseUrl}/customers/${customer}/invoices`, { signal: this.ctx.signal });
    return (await res.json()) as Invoice[];
  }
}
