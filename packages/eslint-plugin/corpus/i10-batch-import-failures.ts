// set: independent
// CSV import: each row is upserted on its own and a failing row is counted and skipped. When the
// import is cancelled every remaining row "fails" instantly and the summary reports bad data.
import type { Context } from '@ctxkit/core';
import type { Db } from '@ctxkit/pg';

export interface ImportSummary { imported: number; failed: string[] }

export async function importCustomers(ctx: Context, db: Db, rows: Array<{ id: string; email: string }>, log: { warn(msg: string): void }): Promise<ImportSummary> {
  const summary: ImportSummary = { imported: 0, failed: [] };
  for (const row of rows) {
    try {
      await db.query(ctx, 'INSERT INTO customers (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = $2', [row.id, row.email]);
      summary.imported++;
    } catch { // expect: no-swallowed-cancel
      log.warn(`row ${row.id} rejected`);
      summary.failed.push(row.id);
    }
  }
  return summary;
}
