// set: independent
// Class-based reporting service. One method was written before contexts reached it and still
// queries with todo(), so the report's SQL keeps running after the caller gives up.
import { todo, type Context } from '@ctxkit/core';
import type { Db } from '@ctxkit/pg';

export class ReportService {
  constructor(private readonly db: Db) {}

  async monthlyRevenue(ctx: Context, month: string): Promise<number> {
    const { rows } = await this.db.query(ctx, 'SELECT sum(amount)::int AS total FROM invoices WHERE month = $1', [month]);
    return (rows[0] as { total: number }).total;
  }

  async topCustomers(ctx: Context, month: string, limit = 10): Promise<string[]> {
    if (ctx.err) throw ctx.err;
    const { rows } = await this.db.query(
      todo(), // expect: pass-context, no-background-in-scope
      'SELECT customer_id FROM invoices WHERE month = $1 GROUP BY customer_id ORDER BY sum(amount) DESC LIMIT $2',
      [month, limit],
    );
    return rows.map((r) => (r as { customer_id: string }).customer_id);
  }
}
