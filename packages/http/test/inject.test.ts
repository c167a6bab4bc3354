// In-process injection (Fastify's inject / light-my-request never touches a socket): a request
// answered normally ends with ResponseFinishedError, not as a disconnect.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { leakCheckAfterAll } from '@ctxkit/testing';
import { cause, type Context } from '@ctxkit/core';
import { ResponseFinishedError } from '@ctxkit/http';
import ctxkit, { getContext } from '@ctxkit/http/fastify';

leakCheckAfterAll(after);

test('fastify.inject: the context ends with ResponseFinishedError; malformed budgets get 400', async () => {
  const app = Fastify();
  await app.register(ctxkit, { timeoutMs: 1000 });
  let ctx: Context | undefined;
  app.get('/', async (request) => {
    ctx = getContext(request);
    return { deadline: ctx.deadline !== undefined };
  });
  const r = await app.inject({ method: 'GET', url: '/' });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(r.json(), { deadline: true });
  await ctx!.done;
  assert.ok(cause(ctx!) instanceof ResponseFinishedError);
  const bad = await app.inject({ method: 'GET', url: '/', headers: { 'grpc-timeout': 'soon' } });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.body, /grpc-timeout/);
  await app.close();
});
