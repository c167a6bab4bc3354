// Express middleware deriving a per-request context that ends when the response closes.
import type { NextFunction, Request, Response } from 'express';
import { withCancel, type Context } from '@ctxkit/core';

export function contextMiddleware(root: Context) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const scope = withCancel(root);
    res.on('close', () => scope.cancel());
    res.locals.ctx = scope.ctx;
    next();
  };
}
