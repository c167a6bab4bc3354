/**
 * The slow dependency (a third tiny server both twins call). It is someone else's service and the
 * same in both twins: it takes `?ms=` milliseconds to answer and, like a well-behaved server,
 * stops working as soon as its own caller disconnects. So whether it keeps working for a client
 * that has left depends only on whether the back service hangs up on it.
 */
import { requestId, type Handler, type Meter } from './meter.js';

import { GRPC_TIMEOUT_HEADER, TIMEOUT_HEADER, parseGrpcTimeout, parseMillis } from '@ctxkit/http';

/** Budgets (ms) the dependency received, in arrival order; `undefined` = none sent. */
export type BudgetLog = Array<number | undefined>;

/** The dependency's request handler; its promise settles when it answered or its caller left. */
export function dependencyHandler(meter: Meter, budgets: BudgetLog): Handler {
  return (req, res) =>
    new Promise<void>((resolve) => {
      const id = requestId(req);
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
      // Read only to report what the caller sent (ctxkit's header, or gRPC's).
      const own = req.headers[TIMEOUT_HEADER];
      const grpc = req.headers[GRPC_TIMEOUT_HEADER];
      budgets.push(typeof own === 'string' ? parseMillis(own) : typeof grpc === 'string' ? parseGrpcTimeout(grpc) : undefined);
      const start = meter.now();
      let settled = false;
      const settle = (completed: boolean): void => {
        if (settled) return;
        settled = true;
        meter.record({ id, where: 'dependency', kind: 'serve', label: 'quote', start, end: meter.now(), completed });
        resolve();
      };
      const timer = setTimeout(
        () => {
          settle(true);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, price: 42 }));
        },
        Number.isFinite(ms) ? ms : 0,
      );
      res.on('close', () => {
        if (res.writableFinished) return;
        clearTimeout(timer);
        settle(false);
      });
    });
}
