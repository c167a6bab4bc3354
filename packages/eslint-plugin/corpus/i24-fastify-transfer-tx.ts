// set: independent
// Fastify route: a money transfer in one transaction on the request context; the audit row is
// written afterwards on a detached context with its own short budget, so a client hanging up
// right after the commit does not lose the audit trail.
import type { FastifyInstance } from 'fastify';
import { isContextError, withTimeout, withoutCancel } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/fastify';
import type { Db } from '@ctxkit/pg';

export function transferRoutes(app: FastifyInstance, db: Db): void {
  app.post<{ Body: { from: number; to: number; cents: number } }>('/transfers', async (request, reply) => {
    const ctx = getContext(request);
    const { from, to, cents } = request.body;
    const id = await db.transaction(ctx, async (tx) => {
      await tx.query(ctx, 'UPDATE accounts SET balance = balance - $2 WHERE id = $1', [from, cents]);
      await tx.query(ctx, 'UPDATE accounts SET balance = balance + $2 WHERE id = $1', [to, cents]);
      const { rows } = await tx.query(ctx, 'INSERT INTO transfers (src, dst, cents) VALUES ($1, $2, $3) RETURNING id', [from, to, cents]);
      return (rows[0] as { id: number }).id;
    });
    using audit = withTimeout(withoutCancel(ctx), 2_000);
    try {
      await db.query(audit.ctx, 'INSERT INTO audit_log (kind, ref) VALUES ($1, $2)', ['transfer', id]);
    } catch (e) {
      if (!isContextError(e)) throw e;
      request.log.warn({ id }, 'audit row not written within 2 s');
    }
    return reply.code(201).send({ id });
  });
}
