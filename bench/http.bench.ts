// @ctxkit/http against the same servers without it, same run:
// 1. Throughput (autocannon, loopback): node:http bare vs contextFromRequest; Express, Fastify,
//    Koa and Hono each without vs with the adapter. The servers run in a child process (one
//    core), the load generator here (the other core); runs alternate A B B A so drift and other
//    load on the machine hit both sides alike.
// 2. Disconnect latency: time from the client closing its socket (and from the server seeing the
//    socket close) until the request context has ended, on loopback.
import os from 'node:os';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const ROLE = process.env.CTXKIT_HTTP_BENCH_ROLE;

if (ROLE === 'server') {
  await runServers();
} else {
  await main();
}

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Child process: every server of the comparison, each on its own port; prints the ports as JSON. */
async function runServers(): Promise<void> {
  const { contextFromRequest, contextHandler } = await import('@ctxkit/http');
  const express = (await import('express')).default;
  const Fastify = (await import('fastify')).default;
  const Koa = (await import('koa')).default;
  const { Hono } = await import('hono');
  const { createAdaptorServer } = await import('@hono/node-server');
  const ex = await import('@ctxkit/http/express');
  const fa = await import('@ctxkit/http/fastify');
  const ko = await import('@ctxkit/http/koa');
  const ho = await import('@ctxkit/http/hono');
  const ports: Record<string, number> = {};

  ports['node:http/without'] = await listen(http.createServer((_req, res) => {
    res.end('ok');
  }));
  ports['node:http/with'] = await listen(http.createServer((req, res) => {
    const scope = contextFromRequest(req, res);
    if (scope.ctx.err === undefined) res.end('ok');
  }));
  // Variants: 'without' (no ctxkit), 'with' (the adapter, defaults: bound for current()),
  // 'nocurrent' (the adapter with current: false: no AsyncLocalStorage).
  for (const variant of ['without', 'with', 'nocurrent'] as const) {
    const withCtx = variant !== 'without';
    const opts = variant === 'nocurrent' ? { current: false } : {};
    const e = express();
    if (withCtx) e.use(ex.contextMiddleware(opts));
    e.get('/', (req, res) => {
      if (withCtx) ex.getContext(req);
      res.send('ok');
    });
    ports[`Express 5/${variant}`] = await listen(http.createServer(e));
    if (variant === 'with') {
      // The binding made by contextHandler around the app, before Express swaps the prototypes
      // of req and res (which makes every later property access on them slow).
      const e2 = express();
      e2.get('/', (req, res) => {
        ex.getContext(req);
        res.send('ok');
      });
      ports[`Express 5, contextHandler around the app/${variant}`] = await listen(http.createServer(contextHandler((_ctx, req, res) => e2(req, res), opts)));
    }

    const f = Fastify();
    if (withCtx) await f.register(fa.contextMiddleware, opts);
    f.get('/', async (request) => {
      if (withCtx) fa.getContext(request);
      return 'ok';
    });
    await f.ready();
    ports[`Fastify 5/${variant}`] = await listen(f.server);

    const k = new Koa();
    if (withCtx) k.use(ko.contextMiddleware(opts));
    k.use(async (kctx) => {
      if (withCtx) ko.getContext(kctx);
      kctx.body = 'ok';
    });
    ports[`Koa 3/${variant}`] = await listen(http.createServer(k.callback()));

    const h = new Hono();
    if (withCtx) h.use(ho.contextMiddleware(opts));
    h.get('/', (c) => {
      if (withCtx) ho.getContext(c);
      return c.text('ok');
    });
    ports[`Hono (node-server)/${variant}`] = await listen(createAdaptorServer({ fetch: h.fetch }) as http.Server);
    if (variant === 'without') {
      // Reference: the same app with one middleware that does nothing but call next(), to
      // separate what any middleware costs in Hono from what ctxkit's costs.
      const h0 = new Hono();
      h0.use((_c, next) => next());
      h0.get('/', (c) => c.text('ok'));
      ports['Hono (node-server)/noop'] = await listen(createAdaptorServer({ fetch: h0.fetch }) as http.Server);
    }
    if (withCtx) {
      const h2 = new Hono();
      h2.get('/', (c) => {
        ho.getContext(c);
        return c.text('ok');
      });
      ports[`Hono, withRequestContext(app.fetch)/${variant}`] = await listen(createAdaptorServer({ fetch: ho.withRequestContext(h2.fetch, opts) }) as http.Server);
    }
  }
  ports['Hono, withRequestContext(app.fetch)/without'] = ports['Hono (node-server)/without']!;
  ports['Express 5, contextHandler around the app/without'] = ports['Express 5/without']!;
  // Instrumented node:http server: time spent in contextFromRequest and in the binding's 'close'
  // listener (between a listener added before it and one added after it), per request.
  const samples = { bind: new Float64Array(1 << 20), close: new Float64Array(1 << 20), nb: 0, nc: 0 };
  ports['instrumented'] = await listen(http.createServer((req, res) => {
    let t = 0;
    res.on('close', () => {
      t = performance.now();
    });
    const t0 = performance.now();
    const scope = contextFromRequest(req, res);
    const t1 = performance.now();
    res.on('close', () => {
      if (samples.nc < samples.close.length) samples.close[samples.nc++] = (performance.now() - t) * 1e6;
    });
    if (samples.nb < samples.bind.length) samples.bind[samples.nb++] = (t1 - t0) * 1e6;
    if (scope.ctx.err === undefined) res.end('ok');
  }));
  ports['stats'] = await listen(http.createServer((_req, res) => {
    res.end(JSON.stringify({ bind: Array.from(samples.bind.subarray(0, samples.nb)), close: Array.from(samples.close.subarray(0, samples.nc)) }));
  }));
  // Control port: the server process's CPU time so far (µs), read before and after each run.
  ports.cpu = await listen(http.createServer((_req, res) => {
    const u = process.cpuUsage();
    res.end(String(u.user + u.system));
  }));
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}

function percentile(v: number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

interface Cannon {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  duration: number;
}

async function main(): Promise<void> {
  // autocannon ships no types; loaded through require so the bench typechecks without @types.
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<Cannon>;
  const loadBefore = os.loadavg()[0]!;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    env: { ...process.env, CTXKIT_HTTP_BENCH_ROLE: 'server' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let line = '';
  for await (const chunk of child.stdout!) {
    line += String(chunk);
    if (line.includes('\n')) break;
  }
  const ports = JSON.parse(line.trim()) as Record<string, number>;
  const comparisons: Array<[string, string, string]> = [['node:http', '`contextFromRequest`', 'with']];
  for (const fw of ['Express 5', 'Express 5, contextHandler around the app', 'Fastify 5', 'Koa 3', 'Hono (node-server)', 'Hono, withRequestContext(app.fetch)']) {
    comparisons.push([fw, 'defaults', 'with']);
    if (!fw.includes('contextHandler')) comparisons.push([fw, '`current: false`', 'nocurrent']);
    if (fw === 'Hono (node-server)') comparisons.push([fw, 'none: a no-op middleware (reference)', 'noop']);
  }
  const SECONDS = 0.5;
  const ROUNDS = 5;
  const CONNECTIONS = 32;
  const cpuNow = async (): Promise<number> => Number(await (await fetch(`http://127.0.0.1:${ports.cpu}/`)).text());
  const run = async (port: number, duration: number): Promise<Cannon & { cpuUs: number }> => {
    const c0 = await cpuNow();
    const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: CONNECTIONS, duration });
    const c1 = await cpuNow();
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`port ${port}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return { ...r, cpuUs: c1 - c0 };
  };
  const rows: string[][] = [];
  const warmed = new Set<number>();
  for (const [name, label, variant] of comparisons) {
    const a = ports[`${name}/without`]!;
    const b = ports[`${name}/${variant}`]!;
    progress(`http: ${name} ${label}`);
    for (const p of [a, b]) {
      if (!warmed.has(p)) await run(p, 0.5);
      warmed.add(p);
    }
    const rps = { a: [] as number[], b: [] as number[] };
    const cpu = { a: [] as number[], b: [] as number[] };
    const rpsRatio: number[] = [];
    const cpuRatio: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Adjacent pairs, alternating which goes first: each ratio compares runs made moments apart.
      const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
      const got: Record<'a' | 'b', { rps: number; cpu: number }> = { a: { rps: 0, cpu: 0 }, b: { rps: 0, cpu: 0 } };
      for (const which of order) {
        const r = await run(which === 'a' ? a : b, SECONDS);
        got[which] = { rps: r.requests.total / SECONDS, cpu: r.cpuUs / r.requests.total };
        rps[which].push(got[which].rps);
        cpu[which].push(got[which].cpu);
      }
      rpsRatio.push(got.b.rps / got.a.rps);
      cpuRatio.push(got.a.cpu / got.b.cpu);
    }
    const target = variant === 'noop' ? undefined : name === 'node:http' ? 97 : 95;
    const capacity = 100 * percentile(cpuRatio, 50);
    rows.push([
      name, label, percentile(rps.a, 50).toFixed(0), percentile(rps.b, 50).toFixed(0),
      `${(100 * percentile(rpsRatio, 50)).toFixed(1)} %`,
      `${percentile(cpu.a, 50).toFixed(1)} / ${percentile(cpu.b, 50).toFixed(1)} µs`,
      `${capacity.toFixed(1)} %`, target === undefined ? '—' : `≥ ${target} %`,
    ]);
  }
  progress('http: binding cost inside the server');
  await run(ports['instrumented']!, 2);
  const stats = JSON.parse(await (await fetch(`http://127.0.0.1:${ports['stats']}/`)).text()) as { bind: number[]; close: number[] };
  const warm = (v: number[]): number[] => v.slice(Math.floor(v.length / 5)); // drop JIT warm-up
  child.stdin!.end();

  progress('http: disconnect latency');
  const dis = await disconnectLatency(1100);
  const loadAfter = os.loadavg()[0]!;

  const out: string[] = [];
  out.push('## HTTP (@ctxkit/http)');
  out.push('');
  out.push(`Loopback, \`GET /\` answering \`ok\` — the worst case for relative overhead, since the handler does nothing else. autocannon, ${CONNECTIONS} connections; per server ${ROUNDS} adjacent pairs of ${SECONDS} s runs (without/with, then with/without, …) after a 0.5 s warm-up of each server; every figure is the median over the pairs, each ratio computed within a pair. Servers run in a child process, the load generator in this one. "With" = \`contextFromRequest\` / the adapter installed and \`getContext\` read in the handler; \`current: false\` skips binding the context for \`current()\` (AsyncLocalStorage), which on Node 20 costs several µs per request in promise-heavy frameworks. AsyncLocalStorage turns on Node's async-hook machinery for the whole process the first time it is used (here: the first Express \`defaults\` run), and it stays on: every later baseline pays that process-wide part too, as it would in a service where any library uses AsyncLocalStorage (OpenTelemetry, many loggers), so the \`defaults\` rows measure the per-request binding. The *no-op middleware* row is a reference, not ctxkit: the same Hono app with one middleware that only calls \`next()\` — what any middleware costs in Hono. Express 5 sets the prototype of every \`req\` and \`res\` (\`Object.setPrototypeOf\`), after which every property access on them costs ~0.5 µs instead of ~10 ns on Node 20; *contextHandler around the app* binds before Express does that (\`http.createServer(contextHandler((_ctx, req, res) => app(req, res)))\`, same \`getContext(req)\`). *Server CPU per request* is the server process's user+system CPU time divided by the requests served: it is what bounds throughput when the server is CPU-bound; *capacity* = CPU without / CPU with. On a shared 2-core VM the noise between adjacent half-second runs (±10 % and more, either way) is larger than the effect being measured, so read these two tables together with the direct measurement of ctxkit's own work per request below, which is the precise figure. Load average before/after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${os.cpus().length} cores.`);
  out.push('');
  out.push(table(['Server', 'ctxkit', 'without (req/s)', 'with (req/s)', 'req/s with / without', 'server CPU per request without / with', 'capacity with / without', 'target'], rows));
  out.push('');
  out.push(`ctxkit's own work per request, timed inside an instrumented node:http server under the same load (${warm(stats.bind).length} requests; the bare handler's whole CPU cost per request is in the first table):`);
  out.push('');
  out.push(table(['Step', 'p50', 'p99'], [
    ['`contextFromRequest(req, res)`', fmtNs(warm(stats.bind), 50), fmtNs(warm(stats.bind), 99)],
    ["its `'close'` listener (ends the context: `ResponseFinishedError`)", fmtNs(warm(stats.close), 50), fmtNs(warm(stats.close), 99)],
  ]));
  out.push('');
  out.push(`Time until the request context has ended after the client closed its connection mid-request (${dis.n} requests, one at a time, in-process server on loopback):`);
  out.push('');
  out.push(table(['Measured from', 'p50', 'p99'], [
    ['client `socket.destroy()`', fmtUs(dis.fromClient, 50), fmtUs(dis.fromClient, 99)],
    ['server socket `close` event', fmtUs(dis.fromServer, 50), fmtUs(dis.fromServer, 99)],
  ]));
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(0);
}

function fmtNs(v: number[], p: number): string {
  return `${percentile(v, p).toFixed(0)} ns`;
}

function fmtUs(v: number[], p: number): string {
  return `${percentile(v, p).toFixed(1)} µs`;
}

/** Client destroys its socket while the handler is busy; measures until the ctx has ended. */
async function disconnectLatency(n: number): Promise<{ n: number; fromClient: number[]; fromServer: number[] }> {
  const { contextFromRequest } = await import('@ctxkit/http');
  const { subscribe } = await import('@ctxkit/core');
  let onRequest: ((ctx: unknown, socket: net.Socket) => void) | undefined;
  const server = http.createServer((req, res) => {
    const scope = contextFromRequest(req, res);
    onRequest?.(scope.ctx, req.socket);
  });
  const port = await listen(server);
  const fromClient: number[] = [];
  const fromServer: number[] = [];
  let target: unknown;
  let endedAt = 0;
  let endedResolve: (() => void) | undefined;
  const unsubscribe = subscribe({
    contextEnded(ctx) {
      if (ctx === target) {
        endedAt = performance.now();
        endedResolve?.();
      }
    },
  });
  for (let i = 0; i < n; i++) {
    const got = new Promise<{ socket: net.Socket }>((resolve) => {
      onRequest = (ctx, socket) => {
        target = ctx;
        resolve({ socket });
      };
    });
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const { socket } = await got;
    let serverCloseAt = 0;
    socket.prependListener('close', () => {
      serverCloseAt = performance.now();
    });
    const ended = new Promise<void>((resolve) => {
      endedResolve = resolve;
    });
    const t0 = performance.now();
    client.destroy();
    await ended;
    if (i >= 100) { // the first ones warm the JIT
      fromClient.push((endedAt - t0) * 1000);
      fromServer.push((endedAt - serverCloseAt) * 1000);
    }
  }
  unsubscribe();
  server.close();
  return { n: fromClient.length, fromClient, fromServer };
}
