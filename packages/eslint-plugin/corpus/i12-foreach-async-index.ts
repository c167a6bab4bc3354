// set: independent
// Search indexer: `forEach(async …)` starts one request per document and returns at once; the
// caller's "indexed" log line is printed before any of them finished, and errors float.
import type { Context } from '@ctxkit/core';

interface Doc { id: string; title: string; body: string }

async function indexDoc(ctx: Context, doc: Doc): Promise<void> {
  const res = await fetch(`http://search.internal/index/docs/${doc.id}`, { method: 'PUT', body: JSON.stringify(doc), signal: ctx.signal });
  if (!res.ok) throw new Error(`index ${doc.id}: HTTP ${res.status}`);
}

export async function reindex(ctx: Context, docs: Doc[], log: { info(msg: string): void }): Promise<void> {
  docs.forEach(async (doc) => { // expect: no-floating-work
    await indexDoc(ctx, doc);
  });
  log.info(`indexed ${docs.length} documents`);
}
