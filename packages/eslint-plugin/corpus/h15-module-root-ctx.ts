// set: holdout
// An "application context" exported from a module for everyone to use.
import { background, withCancel, type Context } from '@ctxkit/core';

const app = withCancel(background());
export const appContext: Context = app.ctx; // expect: no-context-in-field

export function shutdown(): void {
  app.cancel();
}
