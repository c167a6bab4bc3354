// set: independent
// "Current request" kept in a module variable by a middleware, read by a logger helper. Under
// concurrency the logger tags lines with whichever request came last.
import type { NextFunction, Request, Response } from 'express';
import type { Context } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/express';

let currentCtx: Context | undefined; // expect: no-context-in-field

export function trackRequest(req: Request, _res: Response, next: NextFunction): void {
  currentCtx = getContext(req);
  next();
}

export function logLine(msg: string): void {
  const remainingNote = currentCtx?.deadline ? ` (deadline ${new Date(currentCtx.deadline).toISOString()})` : '';
  console.log(`${new Date().toISOString()} ${msg}${remainingNote}`);
}
