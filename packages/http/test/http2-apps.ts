// One small app, served over HTTP/2 (h2c on loopback) by each way ctxkit binds a request context
// there: node:http2's 'stream' event (streamHandler), its compatibility API (http2Handler),
// Fastify with `http2: true`, and Hono on @hono/node-server with `createServer: http2.createServer`
// (middleware and withRequestContext). Tests write the routes once and run them on every kind.
import http2 from 'node:http2';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { createAdaptorServer, type Http2Bindings } from '@hono/node-server';
import type { Context } from '@ctxkit/core';
import { http2Handler, streamHandler, type RequestContextOptions } from '@ctxkit/http';
import { contextPlugin } from '@ctxkit/http/fastify';
import * as ho from '@ctxkit/http/hono';
import { deferred } from './helpers.js';
import { serveH2, type ServedH2 } from './http2-helpers.js';

export const H2_KINDS = [
  'node:http2 streamHandler',
  'node:http2 http2Handler',
  'fastify http2: true',
  'hono middleware on http2',
  'hono withRequestContext on http2',
] as const;
export type H2Kind = (typeof H2_KINDS)[number];

/** What a route sees of its request. */
export interface Arrival {
  ctx: Context;
  /** `:path` as sent, query included (tests tell their requests apart by it). */
  path: string;
  /** The server-side HTTP/2 stream of the request. */
  stream: http2.ServerHttp2Stream;
  /** Hono's `c.req.raw.signal`; undefined for the other kinds. */
  signal: AbortSignal | undefined;
}

/** A route: resolves the 200 text body, or throws (the kind's error answer then applies). */
export type Route = (a: Arrival) => Promise<string>;

export interface RoutedH2 extends ServedH2 {
  /**
   * Resolves once `stream` has closed (and its 'close' listeners have run) with how many
   * 'aborted' / 'close' / 'error' listeners it has beyond those it had when it arrived, before
   * any binding or framework saw it.
   */
  addedListeners(stream: http2.ServerHttp2Stream): Promise<number>;
}

const WATCHED = ['aborted', 'close', 'error'] as const;
const count = (s: http2.ServerHttp2Stream): number => WATCHED.reduce((n, e) => n + s.listenerCount(e), 0);

/** Serves `routes` (exact pathnames, GET) over HTTP/2 with `kind`'s binding and `options`. */
export async function serveRoutes(kind: H2Kind, routes: Record<string, Route>, options: RequestContextOptions = {}): Promise<RoutedH2> {
  const atArrival = new WeakMap<http2.ServerHttp2Stream, { before: number; closed: Promise<number> }>();
  const note = (stream: http2.ServerHttp2Stream): void => {
    const d = deferred<number>();
    atArrival.set(stream, { before: count(stream), closed: d.promise });
    stream.once('close', () => setImmediate(() => d.resolve(count(stream))));
  };
  const server = await build(kind, routes, options);
  // First in line for every stream, before the binding and the framework.
  if (kind === 'node:http2 streamHandler') server.prependListener('stream', note);
  else server.prependListener('request', (req: http2.Http2ServerRequest) => note(req.stream));
  const s = await serveH2(server);
  return {
    ...s,
    async addedListeners(stream) {
      const a = atArrival.get(stream);
      if (a === undefined) throw new Error('addedListeners: not a stream of this server');
      return (await a.closed) - a.before;
    },
  };
}

function routeOf(routes: Record<string, Route>, path: string): Route | undefined {
  return routes[path.split('?')[0] ?? ''];
}

async function build(kind: H2Kind, routes: Record<string, Route>, options: RequestContextOptions): Promise<http2.Http2Server> {
  switch (kind) {
    case 'node:http2 streamHandler': {
      const server = http2.createServer();
      server.on(
        'stream',
        streamHandler(async (ctx, stream, headers) => {
          const path = String(headers[':path']);
          const route = routeOf(routes, path);
          if (route === undefined) return void stream.respond({ ':status': 404 }, { endStream: true });
          const body = await route({ ctx, path, stream, signal: undefined });
          stream.respond({ ':status': 200, 'content-type': 'text/plain' });
          stream.end(body);
        }, options),
      );
      return server;
    }
    case 'node:http2 http2Handler':
      return http2.createServer(
        http2Handler(async (ctx, req, res) => {
          const route = routeOf(routes, req.url);
          if (route === undefined) return void res.writeHead(404).end();
          const body = await route({ ctx, path: req.url, stream: req.stream, signal: undefined });
          res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
        }, options),
      );
    case 'fastify http2: true': {
      const app = Fastify({ http2: true });
      await app.register(contextPlugin, options);
      for (const [p, route] of Object.entries(routes)) {
        app.get(p, async (request) => route({ ctx: request.ctx, path: request.url, stream: request.raw.stream, signal: undefined }));
      }
      await app.ready();
      return app.server;
    }
    case 'hono middleware on http2':
    case 'hono withRequestContext on http2': {
      const app = new Hono<{ Bindings: Http2Bindings }>();
      const middleware = kind === 'hono middleware on http2';
      if (middleware) app.use(ho.contextMiddleware(options));
      app.onError(ho.contextErrorHandler());
      for (const [p, route] of Object.entries(routes)) {
        app.get(p, async (c) => {
          const url = new URL(c.req.url);
          const a = { ctx: ho.getContext(c), path: url.pathname + url.search, stream: c.env.incoming.stream, signal: c.req.raw.signal };
          return c.text(await route(a));
        });
      }
      const fetch = middleware ? app.fetch : ho.withRequestContext(app.fetch, options);
      return createAdaptorServer({ fetch, createServer: http2.createServer }) as http2.Http2Server;
    }
  }
}

/** Promises keyed by name, resolved by the server side and awaited by the test in either order. */
export function slots<T>(): { resolve(key: string, v: T): void; get(key: string): Promise<T> } {
  const m = new Map<string, ReturnType<typeof deferred<T>>>();
  const slot = (k: string) => {
    let d = m.get(k);
    if (d === undefined) m.set(k, (d = deferred<T>()));
    return d;
  };
  return { resolve: (k, v) => slot(k).resolve(v), get: (k) => slot(k).promise };
}
