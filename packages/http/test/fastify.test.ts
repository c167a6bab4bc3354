// The Fastify plugin's own features: per-route options (route `config`), `request.ctx`, errors in
// Fastify's JSON error format, and an error handler of the user's own that keeps ctxkit's answers.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import Fastify from 'fastify';
import { isContextError, sleep, type Context } from '@ctxkit/core';
import { leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { contextErrorHandler, contextPlugin } from '@ctxkit/http/fastify';
import { closeAll, deferred, serve } from './helpers.js';

leakCheckAfterAll(after);
afterEach(closeAll);

test('a route config.ctxkit replaces the plugin options for that route, others keep the plugin options', async () => {
  const clock = useManualClock();
  try {
    const app = Fastify();
    await app.register(contextPlugin, { timeoutMs: 1000 });
    const seen: Record<string, Context> = {};
    app.get('/default', async (request) => {
      seen.default = request.ctx;
      return 'ok';
    });
    app.get('/upload', { config: { ctxkit: { timeoutMs: 60_000 } } }, async (request) => {
      seen.upload = request.ctx;
      return 'ok';
    });
    app.get('/public', { config: { ctxkit: { inbound: false } } }, async (request) => {
      seen.public = request.ctx;
      return 'ok';
    });
    await app.ready();
    const s = await serve(app.server as http.Server);
    const now = clock.now();
    for (const path of ['/default', '/upload', '/public']) {
      const r = await fetch(`${s.url}${path}`, { headers: { 'ctxkit-timeout-ms': '250' } });
      assert.equal(await r.text(), 'ok');
    }
    assert.equal(seen.default!.deadline, now + 250, 'plugin options: the inbound budget is the smallest');
    assert.equal(seen.upload!.deadline, now + 250, "the route's own timeoutMs; the inbound budget is still smaller");
    assert.equal(seen.public!.deadline, now + 1000, "the route's inbound: false ignores the caller's budget; timeoutMs from the plugin");
    const r = await fetch(`${s.url}/upload`);
    assert.equal(await r.text(), 'ok');
    assert.equal(seen.upload!.deadline, now + 60_000, "without the header, the route's own timeoutMs");
    await s.close();
  } finally {
    clock.restore();
  }
});

test('a misspelt route config.ctxkit option is a TypeError naming the route and the option', async () => {
  const app = Fastify();
  await app.register(contextPlugin);
  assert.throws(
    () => app.get('/x', { config: { ctxkit: { timeoutMz: 5 } as never } }, async () => 'ok'),
    /contextPlugin \(fastify\): route GET \/x config\.ctxkit: unknown option 'timeoutMz' \(did you mean 'timeoutMs'\?\)/,
  );
  await app.close();
});

test('errors that are not context errors keep Fastify’s own answer; context errors use its JSON error format', async () => {
  const clock = useManualClock();
  try {
    const app = Fastify();
    await app.register(contextPlugin, { timeoutMs: 1000 });
    const sleeping = deferred();
    app.get('/boom', async () => {
      throw Object.assign(new Error('boom'), { statusCode: 422 });
    });
    app.get('/slow', async (request) => {
      const p = sleep(request.ctx, 60_000);
      sleeping.resolve();
      await p;
      return 'late';
    });
    await app.ready();
    const s = await serve(app.server as http.Server);
    const boom = await fetch(`${s.url}/boom`);
    assert.equal(boom.status, 422);
    assert.deepEqual(await boom.json(), { statusCode: 422, error: 'Unprocessable Entity', message: 'boom' });
    const slow = fetch(`${s.url}/slow`);
    await sleeping.promise;
    await clock.advance(1000);
    const r = await slow;
    assert.equal(r.status, 504);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await r.json(), {
      statusCode: 504,
      code: 'CTXKIT_DEADLINE_EXCEEDED',
      error: 'Gateway Timeout',
      message: "the request's deadline passed before the response was ready",
    });
    await s.close();
  } finally {
    clock.restore();
  }
});

test('errorHandler: false — an error handler of your own can hand context errors to contextErrorHandler', async () => {
  const clock = useManualClock();
  try {
    const app = Fastify();
    await app.register(contextPlugin, { timeoutMs: 1000, errorHandler: false });
    const ctxkitAnswer = contextErrorHandler();
    app.setErrorHandler((error, request, reply) => {
      if (isContextError(error)) return ctxkitAnswer(error, request, reply);
      return reply.code(418).send({ mine: true });
    });
    const sleeping = deferred();
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    app.get('/slow', async (request) => {
      const p = sleep(request.ctx, 60_000);
      sleeping.resolve();
      await p;
      return 'late';
    });
    await app.ready();
    const s = await serve(app.server as http.Server);
    const boom = await fetch(`${s.url}/boom`);
    assert.equal(boom.status, 418);
    assert.deepEqual(await boom.json(), { mine: true });
    const slow = fetch(`${s.url}/slow`);
    await sleeping.promise;
    await clock.advance(1000);
    const r = await slow;
    assert.equal(r.status, 504);
    assert.equal(((await r.json()) as { code: string }).code, 'CTXKIT_DEADLINE_EXCEEDED');
    await s.close();
  } finally {
    clock.restore();
  }
});
