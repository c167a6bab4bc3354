// set: independent
// Fastify hook copying allow-listed headers into the request context, one withValue per header,
// re-assigned to the same variable.
import type { FastifyRequest } from 'fastify';
import { createKey, withValue, type Context, type Key } from '@ctxkit/core';
import { getContext } from '@ctxkit/http/fastify';

export const propagated: ReadonlyArray<[string, Key<string>]> = [
  ['x-request-id', createKey<string>('requestId')],
  ['x-tenant-id', createKey<string>('tenantId')],
  ['x-client-version', createKey<string>('clientVersion')],
];

export function requestContext(request: FastifyRequest): Context {
  let ctx = getContext(request);
  for (const [header, key] of propagated) {
    const value = request.headers[header];
    if (typeof value === 'string') ctx = withValue(ctx, key, value); // expect: no-value-in-loop
  }
  return ctx;
}
