import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contextHandler } from '@ctxkit/http';
import { contextMiddleware as expressMiddleware } from '@ctxkit/http/express';
import { contextPlugin as fastifyPlugin } from '@ctxkit/http/fastify';
import { contextMiddleware as koaMiddleware } from '@ctxkit/http/koa';
import { contextMiddleware as honoMiddleware } from '@ctxkit/http/hono';

test('a misspelt option of any binding is a TypeError naming it, not silently ignored', () => {
  const typo = { timeoutMz: 500 } as never;
  const bindings: Array<[string, () => unknown]> = [
    ['contextHandler', () => contextHandler(() => {}, typo)],
    ['contextMiddleware (express)', () => expressMiddleware(typo)],
    ['contextPlugin (fastify)', () => fastifyPlugin(typo)],
    ['contextMiddleware (koa)', () => koaMiddleware(typo)],
    ['contextMiddleware (hono)', () => honoMiddleware(typo)],
  ];
  for (const [fn, make] of bindings) {
    assert.throws(
      make,
      (e: Error) => e instanceof TypeError && e.message.startsWith(`${fn}: unknown option 'timeoutMz' (did you mean 'timeoutMs'?)`),
      fn,
    );
  }
  // Each binding's own options are known: contextHandler's onError, Fastify's register options.
  contextHandler(() => {}, { onError: () => {}, timeoutMs: 500 });
  fastifyPlugin({ prefix: '/api', timeoutMs: 500 } as never);
});
