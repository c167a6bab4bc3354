// JavaScript middleware that stores the request id under a plain string key.
import { withValue } from '@ctxkit/core';
import { randomUUID } from 'node:crypto';

export function requestId(next) {
  return (ctx, req, res) => {
    const id = req.headers['x-request-id'] ?? randomUUID();
    res.setHeader('x-request-id', id);
    return next(withValue(ctx, 'requestId', id), req, res); // expect: typed-context-keys
  };
}
