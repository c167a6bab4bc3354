// @ctxkit/http against the same servers without it, same run:
// 1. Throughput (autocannon, loopback): node:http bare vs contextFromRequest; Express, Fastify,
//    Koa and Hono each without vs with the adapter. Every variant is its own server process,
//    pinned to one core (taskset), the load generator to the other; within a framework, each
//    round runs every variant once (order forward, then reversed), and each ratio compares runs of
//    the same round. The 'without' server runs twice (two processes): that A/A pair shows how far
//    apart two identical servers measure, i.e. which differences are real. Before the rounds every
//    server is settled (full collections while idle) into the state of a long-running process.
// 2. Binding cost timed inside an instrumented node:http server under load.
// 3. Disconnect latency: time from the client closing its socket (and from the server seeing the
//    socket close) until the request context has ended, on loopback.
// While iterating (never for docs/BENCHMARKS.md): CTXKIT_HTTP_BENCH_ONLY=<framework> runs one
// group ('none' for parts 2 and 3 only), CTXKIT_HTTP_BENCH_ROUNDS / _SECONDS change the rounds,
// CTXKIT_HTTP_BENCH_SETTLE the settle cycles (0: none, each server left to its own collections),
// CTXKIT_HTTP_BENCH_VERBOSE=1 prints every pair.
import { median, percentile, progress, table } from './lib.js';
import os from 'node:os';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';

const ROLE = process.env.CTXKIT_HTTP_BENCH_ROLE;

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/**
 * Variants of each framework's server ('Framework/variant'):
 * - without: no ctxkit; the A/A twin 'without2' is the same server in another process.
 * - als: no ctxkit, but AsyncLocalStorage already in use in the process (used once at startup),
 *   as in a service with OpenTelemetry or an ALS-based logger: the baseline for the adapter's
 *   marginal cost in such a service.
 * - with: the adapter with defaults (context bound for current()), getContext read in the handler.
 * - nocurrent: the adapter with current: false (no AsyncLocalStorage).
 * - wrap: the binding around the app (Express: contextHandler; Hono: withRequestContext).
 * - wrapnc: the same with current: false — the cheapest binding each framework allows.
 * - noop (Express, Koa, Hono): no ctxkit, one middleware that only calls next() — what any
 *   middleware costs in that framework, the floor under a middleware-form adapter.
 * - alsmw: no ctxkit, a middleware that binds a new object with AsyncLocalStorage.run for the
 *   rest of the request (in Fastify, in the same two hooks as the plugin) — what binding anything
 *   per request costs in that framework, e.g. a tracing library's request context.
 */
async function makeServer(name: string): Promise<http.Server> {
  const [fw, variant] = name.split('/') as [string, string];
  const withCtx = variant === 'with' || variant === 'nocurrent';
  const opts = variant === 'nocurrent' || variant === 'wrapnc' ? { current: false } : {};
  const wrap = variant === 'wrap' || variant === 'wrapnc';
  const als = new AsyncLocalStorage<object>();
  if (variant === 'als') als.run({}, () => {}); // turns on Node's async hooks for the whole process, for good
  const alsmw = variant === 'alsmw';
  if (fw === 'node:http') {
    if (variant === 'with') {
      const { contextFromRequest } = await import('@ctxkit/http');
      return http.createServer((req, res) => {
        const scope = contextFromRequest(req, res);
        if (scope.ctx.err === undefined) res.end('ok');
      });
    }
    if (alsmw) {
      return http.createServer((_req, res) => {
        als.run({}, () => res.end('ok'));
      });
    }
    return http.createServer((_req, res) => {
      res.end('ok');
    });
  }
  if (fw === 'Express 5') {
    const express = (await import('express')).default;
    const ex = await import('@ctxkit/http/express');
    const e = express();
    if (withCtx) e.use(ex.contextMiddleware(opts));
    if (variant === 'noop') e.use((_req, _res, next) => next());
    if (alsmw) e.use((_req, _res, next) => als.run({}, next));
    e.get('/', (req, res) => {
      if (withCtx || wrap) ex.getContext(req);
      res.send('ok');
    });
    if (wrap) {
      const { contextHandler } = await import('@ctxkit/http');
      return http.createServer(contextHandler((_ctx, req, res) => e(req, res), opts));
    }
    return http.createServer(e);
  }
  if (fw === 'Fastify 5') {
    const Fastify = (await import('fastify')).default;
    const fa = await import('@ctxkit/http/fastify');
    const f = Fastify();
    if (withCtx) await f.register(fa.contextPlugin, opts);
    if (alsmw) {
      const store = Symbol('store');
      f.addHook('onRequest', (request, _reply, done) => {
        const s = {};
        (request.raw as unknown as Record<symbol, object>)[store] = s;
        als.run(s, done);
      });
      f.addHook('preHandler', (request, _reply, done) => als.run((request.raw as unknown as Record<symbol, object>)[store]!, done));
    }
    f.get('/', async (request) => {
      if (withCtx) fa.getContext(request);
      return 'ok';
    });
    await f.ready();
    return f.server;
  }
  if (fw === 'Koa 3') {
    const Koa = (await import('koa')).default;
    const ko = await import('@ctxkit/http/koa');
    const k = new Koa();
    if (withCtx) k.use(ko.contextMiddleware(opts));
    if (variant === 'noop') k.use((_kctx, next) => next());
    if (alsmw) k.use((_kctx, next) => als.run({}, next));
    k.use(async (kctx) => {
      if (withCtx) ko.getContext(kctx);
      kctx.body = 'ok';
    });
    return http.createServer(k.callback());
  }
  if (fw === 'Hono') {
    const { Hono } = await import('hono');
    const { createAdaptorServer } = await import('@hono/node-server');
    const ho = await import('@ctxkit/http/hono');
    const h = new Hono();
    if (withCtx) h.use(ho.contextMiddleware(opts));
    if (variant === 'noop') h.use((_c, next) => next());
    if (alsmw) h.use((_c, next) => als.run({}, next));
    h.get('/', (c) => {
      if (withCtx || wrap) ho.getContext(c);
      return c.text('ok');
    });
    const fetch = wrap ? ho.withRequestContext(h.fetch, opts) : h.fetch;
    return createAdaptorServer({ fetch }) as http.Server;
  }
  throw new Error(`unknown server ${name}`);
}

/** Child process: one server (or the instrumented one) plus a control port; prints both ports. */
async function runServer(name: string): Promise<void> {
  const samples = { bind: new Float64Array(1 << 20), close: new Float64Array(1 << 20), nb: 0, nc: 0 };
  let server: http.Server;
  if (name === 'instrumented') {
    // Time spent in contextFromRequest and in the binding's 'close' listener (between a listener
    // added before it and one added after it), per request.
    const { contextFromRequest } = await import('@ctxkit/http');
    server = http.createServer((req, res) => {
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
    });
  } else {
    server = await makeServer(name);
  }
  const port = await listen(server);
  // Control port: any path but these two answers the process's CPU time so far (µs), read before
  // and after each run; /gc collects fully; /stats gives the instrumented server's timings.
  const control = await listen(
    http.createServer((req, res) => {
      if (req.url === '/gc') {
        // A full collection while idle (the server runs with --expose-gc): see the settle cycles in main.
        setImmediate(() => {
          (globalThis as unknown as { gc(): void }).gc();
          res.end('ok');
        });
        return;
      }
      if (req.url === '/stats') {
        res.end(
          JSON.stringify({
            bind: Array.from(samples.bind.subarray(0, samples.nb)),
            close: Array.from(samples.close.subarray(0, samples.nc)),
          }),
        );
        return;
      }
      const u = process.cpuUsage();
      res.end(String(u.user + u.system));
    }),
  );
  process.stdout.write(`${JSON.stringify({ port, control })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

/**
 * Child process: a load generator. Each stdin line `{ port, duration, connections }` runs one
 * autocannon load on that port and answers one stdout line with its result.
 */
async function runLoad(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<Cannon>;
  let buf = '';
  for await (const chunk of process.stdin) {
    buf += String(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const { port, duration, connections } = JSON.parse(buf.slice(0, nl)) as { port: number; duration: number; connections: number };
      buf = buf.slice(nl + 1);
      const c0 = process.cpuUsage();
      const r = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration });
      const c = process.cpuUsage(c0);
      process.stdout.write(
        `${JSON.stringify({ requests: r.requests, latency: r.latency, non2xx: r.non2xx, errors: r.errors, duration: r.duration, cpuUs: c.user + c.system })}\n`,
      );
    }
  }
}

/** A load-generator process (pinned to core 0 when `pin`): `run` loads one server and resolves with the result. */
function startLoad(pin: boolean): { run(port: number, duration: number, connections: number): Promise<Cannon>; stop(): void } {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url)];
  const env = { ...process.env, CTXKIT_HTTP_BENCH_ROLE: 'load' };
  const proc = pin
    ? spawn('taskset', ['-c', '0', process.execPath, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: Array<(c: Cannon) => void> = [];
  let buf = '';
  proc.stdout!.on('data', (chunk) => {
    buf += String(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(JSON.parse(line) as Cannon);
    }
  });
  return {
    run(port, duration, connections) {
      return new Promise<Cannon>((resolve) => {
        waiting.push(resolve);
        proc.stdin!.write(`${JSON.stringify({ port, duration, connections })}\n`);
      });
    },
    stop() {
      proc.stdin!.end();
    },
  };
}

interface Cannon {
  requests: { total: number; average: number };
  /** CPU time (µs) the load-generator process used for this run (load processes only). */
  cpuUs?: number;
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  duration: number;
}

interface Child {
  proc: ChildProcess;
  port: number;
  control: number;
}

/** CPU time used by everything on the machine so far (µs), from /proc/stat; undefined elsewhere. */
function machineBusyUs(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return (busy * 1e6) / 100; // USER_HZ = 100
  } catch {
    return undefined;
  }
}

const FOREIGN = 0.1;

/** Waits (at most 60 s) until other processes use under FOREIGN of a core over 300 ms. */
async function waitQuiet(): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const s0 = machineBusyUs();
    const m0 = process.cpuUsage();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, 300));
    const s1 = machineBusyUs();
    if (s0 === undefined || s1 === undefined) return;
    const m1 = process.cpuUsage(m0);
    const foreign = (s1 - s0 - m1.user - m1.system) / ((performance.now() - w0) * 1000);
    if (foreign <= FOREIGN) return;
  }
}

/** Whether `taskset` can pin processes here (util-linux); without it the runs are unpinned. */
function canPin(): boolean {
  const r = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  return r.status === 0 && os.cpus().length >= 2;
}

/** Starts one server process, pinned to core 1 when `pin`. */
async function startServer(name: string, pin: boolean): Promise<Child> {
  const args = ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)];
  const env = { ...process.env, CTXKIT_HTTP_BENCH_ROLE: 'server', CTXKIT_HTTP_BENCH_SERVER: name };
  const proc = pin
    ? spawn('taskset', ['-c', '1', process.execPath, ...args], { env, stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  let line = '';
  for await (const chunk of proc.stdout!) {
    line += String(chunk);
    if (line.includes('\n')) break;
  }
  if (!line.includes('\n')) throw new Error(`server ${name} did not start`);
  const { port, control } = JSON.parse(line.trim()) as { port: number; control: number };
  return { proc, port, control };
}

async function stopServer(c: Child): Promise<void> {
  c.proc.stdin!.end();
  if (c.proc.exitCode === null) await once(c.proc, 'exit');
}

// Each group: one framework's variants, [variant, ctxkit column label, target %, baseline].
// Ratios are taken against the 'without' run of the same round (and, for 'with', also against the
// 'als' run: the marginal cost in a process that already uses AsyncLocalStorage).
// node:http has the tightest target (97 %) and the cheapest rounds: it runs three times as many,
// so that its median is not decided by one or two noisy pairs (A/A rounds spread ±2–3 %).
const GROUPS: Array<{ fw: string; target: number; roundsFactor?: number; variants: Array<[string, string]> }> = [
  {
    fw: 'node:http',
    target: 97,
    roundsFactor: 3,
    variants: [
      ['without2', 'none (A/A: a second bare server)'],
      ['als', 'none, AsyncLocalStorage in use'],
      ['alsmw', 'none, AsyncLocalStorage bound per request (reference)'],
      ['with', '`contextFromRequest`'],
    ],
  },
  {
    fw: 'Express 5',
    target: 95,
    variants: [
      ['without2', 'none (A/A)'],
      ['als', 'none, AsyncLocalStorage in use'],
      ['alsmw', 'none, AsyncLocalStorage bound per request (reference)'],
      ['noop', 'none, a no-op middleware (reference)'],
      ['with', 'middleware, defaults'],
      ['nocurrent', 'middleware, `current: false`'],
      ['wrap', '`contextHandler` around the app'],
      ['wrapnc', '`contextHandler` around the app, `current: false`'],
    ],
  },
  {
    fw: 'Fastify 5',
    target: 95,
    variants: [
      ['without2', 'none (A/A)'],
      ['als', 'none, AsyncLocalStorage in use'],
      ['alsmw', 'none, AsyncLocalStorage bound per request (reference)'],
      ['with', 'plugin, defaults'],
      ['nocurrent', 'plugin, `current: false`'],
    ],
  },
  {
    fw: 'Koa 3',
    target: 95,
    variants: [
      ['without2', 'none (A/A)'],
      ['als', 'none, AsyncLocalStorage in use'],
      ['alsmw', 'none, AsyncLocalStorage bound per request (reference)'],
      ['noop', 'none, a no-op middleware (reference)'],
      ['with', 'middleware, defaults'],
      ['nocurrent', 'middleware, `current: false`'],
    ],
  },
  {
    fw: 'Hono',
    target: 95,
    variants: [
      ['without2', 'none (A/A)'],
      ['als', 'none, AsyncLocalStorage in use'],
      ['alsmw', 'none, AsyncLocalStorage bound per request (reference)'],
      ['noop', 'none, a no-op middleware (reference)'],
      ['with', 'middleware, defaults'],
      ['nocurrent', 'middleware, `current: false`'],
      ['wrap', '`withRequestContext(app.fetch)`'],
      ['wrapnc', '`withRequestContext(app.fetch)`, `current: false`'],
    ],
  },
];

async function main(): Promise<void> {
  // autocannon ships no types; loaded through require so the bench typechecks without @types.
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => Promise<Cannon>;
  const only = process.env.CTXKIT_HTTP_BENCH_ONLY; // e.g. 'Fastify 5' while iterating
  const SECONDS = Number(process.env.CTXKIT_HTTP_BENCH_SECONDS ?? 1);
  const ROUNDS = Number(process.env.CTXKIT_HTTP_BENCH_ROUNDS ?? 6);
  const CONNECTIONS = 32;
  const verbose = process.env.CTXKIT_HTTP_BENCH_VERBOSE !== undefined;
  // Eight: Node 20 settled every process in four, Node 24 did not — with four, some bare
  // processes of a Node 24 run had settled and others not (A/A pairs at 78 % and 116 %); with
  // eight its A/A pairs came out at 95–104 %.
  const SETTLE_CYCLES = Number(process.env.CTXKIT_HTTP_BENCH_SETTLE ?? 8);
  const pin = canPin();
  // The load generator (this process, all its threads) on core 0; the servers on core 1.
  if (pin) spawnSync('taskset', ['-a', '-pc', '0', String(process.pid)]);
  const loadBefore = os.loadavg()[0]!;
  const t0 = performance.now();
  const cpuNow = async (c: Child): Promise<number> => Number(await (await fetch(`http://127.0.0.1:${c.control}/cpu`)).text());
  interface Pair {
    ratio: number;
    cpuRatio: number;
    cpuBase: number;
    cpuOther: number;
    rpsBase: number;
    util: number;
    foreign: number;
  }
  // The two servers under load at the same time, each from its own autocannon instance: they
  // share core 1, so whatever slows the machine down (other VMs on the host, frequency) slows
  // both alike, and the ratio of their req/s is the inverse ratio of their CPU cost per request.
  // Two load-generator processes, one per server of a pair (two autocannon instances sharing one
  // event loop starved one server now and then); which one loads which server alternates.
  const loads = [startLoad(pin), startLoad(pin)] as const;
  let flip = false;
  const pairOnce = async (base: Child, other: Child, duration: number): Promise<Pair> => {
    const s0 = machineBusyUs();
    const m0 = process.cpuUsage();
    const b0 = await cpuNow(base);
    const o0 = await cpuNow(other);
    const w0 = performance.now();
    // Which of the two instances starts first alternates from one pair to the next.
    const first = (flip = !flip) ? [base, other] : [other, base];
    const [r1, r2] = await Promise.all(first.map((c, i) => loads[i]!.run(c.port, duration, CONNECTIONS)));
    const [rb, ro] = first[0] === base ? [r1, r2] : [r2, r1];
    const wall = (performance.now() - w0) * 1000;
    const b1 = await cpuNow(base);
    const o1 = await cpuNow(other);
    const m1 = process.cpuUsage(m0);
    const s1 = machineBusyUs();
    for (const r of [rb!, ro!]) if (r.non2xx > 0 || r.errors > 0) throw new Error(`${r.non2xx} non-2xx, ${r.errors} errors`);
    const servers = b1 - b0 + o1 - o0;
    // CPU used on the machine by anything but this process, the two load generators and the two
    // servers, per core.
    const foreign =
      s1 === undefined || s0 === undefined ? 0 : (s1 - s0 - servers - (m1.user + m1.system) - (r1!.cpuUs ?? 0) - (r2!.cpuUs ?? 0)) / wall;
    const cpuBase = (b1 - b0) / rb!.requests.total;
    const cpuOther = (o1 - o0) / ro!.requests.total;
    return {
      ratio: ro!.requests.total / rb!.requests.total,
      cpuRatio: cpuBase / cpuOther,
      cpuBase,
      cpuOther,
      rpsBase: rb!.requests.total / duration,
      util: servers / wall,
      foreign,
    };
  };
  let redone = 0;
  // A pair during which other processes used more than FOREIGN of a core (builds or tests of
  // other work on a shared machine), or the servers' core was not kept busy, is made again after
  // waiting for the machine to be quiet (at most 5 times).
  const pair = async (base: Child, other: Child, duration: number): Promise<Pair> => {
    for (let attempt = 0; ; attempt++) {
      await waitQuiet();
      const r = await pairOnce(base, other, duration);
      if (verbose)
        progress(`    ${r.ratio.toFixed(3)} (CPU ${r.cpuRatio.toFixed(3)}), util ${r.util.toFixed(2)}, foreign ${r.foreign.toFixed(2)}`);
      if ((r.foreign <= FOREIGN && r.util >= 0.9) || attempt >= 5) return r;
      redone++;
    }
  };
  const rows: string[][] = [];
  const aa: number[] = []; // every A/A ratio of every round
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  for (const g of GROUPS) {
    if (only !== undefined && g.fw !== only) continue;
    progress(`http: ${g.fw}`);
    // Each variant has its own bare twin, so the two servers of a pair have the same history
    // (runs and idle time between them: an idle V8 shrinks its heap, and a server under load
    // three times as often as the other would be favoured).
    const servers = new Map<string, [Child, Child]>();
    await Promise.all(
      g.variants.map(async ([v]) => {
        servers.set(v, await Promise.all([startServer(`${g.fw}/without`, pin), startServer(`${g.fw}/${v}`, pin)]));
      }),
    );
    for (const [v] of g.variants) await pairOnce(...servers.get(v)!, 2); // warm-up (JIT)
    // Every server is then taken to the state of a long-running Node process: after a few full
    // collections while idle, node:http's per-request process.nextTick objects leave V8's fast
    // path for good (~4 µs more per request, bare servers alike). Without this, whether and when
    // a process got there depended on when its own idle collections happened — the
    // 'bimodal' runs of earlier benches.
    for (let cycle = 0; cycle < SETTLE_CYCLES; cycle++) {
      await Promise.all([...servers.values()].flat().map((c) => fetch(`http://127.0.0.1:${c.control}/gc`).then((r) => r.text())));
      for (const [v] of g.variants) await pairOnce(...servers.get(v)!, 0.5);
    }
    const got = new Map<string, Pair[]>(g.variants.map(([v]) => [v, []]));
    const rounds = ROUNDS * (g.roundsFactor ?? 1);
    for (let round = 0; round < rounds; round++) {
      // Forward, then reversed: drift hits every variant alike over two rounds.
      const order = round % 2 === 0 ? g.variants : [...g.variants].reverse();
      for (const [v] of order) got.get(v)!.push(await pair(...servers.get(v)!, SECONDS));
    }
    await Promise.all([...servers.values()].flat().map(stopServer));
    aa.push(...got.get('without2')!.map((p) => p.ratio));
    const all = [...got.values()].flat();
    rows.push([g.fw, 'none (baseline)', `${median(all.map((p) => p.cpuBase)).toFixed(1)} µs`, '—', '—', '—', '—', '—', '—']);
    const als = got.get('als')!.map((p) => p.ratio);
    const alsmw = got.get('alsmw')!.map((p) => p.ratio);
    for (const [v, label] of g.variants) {
      const ps = got.get(v)!;
      const r = ps.map((p) => p.ratio);
      const isCtx = v === 'with' || v === 'nocurrent' || v === 'wrap' || v === 'wrapnc';
      const bindsAls = v === 'with' || v === 'wrap';
      rows.push([
        g.fw,
        label,
        `${median(ps.map((p) => p.cpuOther)).toFixed(1)} µs`,
        `**${pct(median(r))}**`,
        `${pct(Math.min(...r))} – ${pct(Math.max(...r))}`,
        pct(median(ps.map((p) => p.cpuRatio))),
        bindsAls ? pct(median(r.map((x, i) => x / als[i]!))) : '—',
        bindsAls ? pct(median(r.map((x, i) => x / alsmw[i]!))) : '—',
        isCtx ? `≥ ${g.target} %` : '—',
      ]);
      if (verbose) progress(`${v}: ${r.map((x) => x.toFixed(3)).join(' ')}`);
    }
  }
  const benchSeconds = (performance.now() - t0) / 1000;
  for (const l of loads) l.stop();

  progress('http: binding cost inside the server');
  const inst = await startServer('instrumented', pin);
  await autocannon({ url: `http://127.0.0.1:${inst.port}/`, connections: CONNECTIONS, duration: 2 });
  const stats = JSON.parse(await (await fetch(`http://127.0.0.1:${inst.control}/stats`)).text()) as { bind: number[]; close: number[] };
  await stopServer(inst);
  const warm = (v: number[]): number[] => v.slice(Math.floor(v.length / 5)); // drop JIT warm-up

  progress('http: disconnect latency');
  const dis = await disconnectLatency(1100);
  const loadAfter = os.loadavg()[0]!;

  const out: string[] = [];
  out.push('## HTTP (@ctxkit/http)');
  out.push('');
  out.push(
    `Loopback, \`GET /\` answering \`ok\` — the worst case for relative overhead, since the handler does nothing else. Every variant is its own server process${pin ? ', all pinned to core 1 (`taskset -c 1`); the load generators (autocannon, one process of 32 connections per server of a pair) are pinned to core 0' : ' (not pinned: taskset unavailable); autocannon, 32 connections per server'}. Each variant is measured **at the same time as the bare server** of its framework, both under load, sharing the one core: whatever slows the machine down during a run (the host, other VMs) slows both alike, and the ratio of their req/s is the inverse ratio of their CPU cost per request. Per framework, each variant is paired once for a 2 s warm-up, then ${ROUNDS} rounds (node:http: ${ROUNDS * (GROUPS.find((x) => x.fw === 'node:http')?.roundsFactor ?? 1)}) pair every variant once for ${SECONDS} s (order forward, then reversed); the table gives the median ratio and its range over the rounds. Between the warm-up and the rounds every server goes through ${SETTLE_CYCLES} cycles of a full garbage collection while idle (\`gc()\`; the servers run with \`--expose-gc\`) followed by 0.5 s of load: after a few collections while idle, a Node server (20, 22 and 24 alike, no ctxkit needed) runs every \`process.nextTick\` — several per node:http request — through V8's slow runtime path for good (~4 µs more per request here); left to chance, some server processes of a run got there and others did not, which made earlier runs bimodal. Every pair now compares two servers in that long-running state. A pair is made again when other processes used more than ${100 * FOREIGN} % of a core meanwhile or the servers' core was not kept busy (${redone} redone in this run). Each variant's bare server is its own process, run exactly when the variant runs, so both servers of a pair have the same history. *A/A* pairs a bare server with a second, identical bare server process: its spread is the noise floor — a ratio inside it is no measurable difference. *AsyncLocalStorage in use* is the bare server in a process where AsyncLocalStorage has been used once at startup (on Node 20 that turns on async hooks for every promise and async resource, for good), as in a service with OpenTelemetry or an ALS-based logger; *AsyncLocalStorage bound per request* adds a middleware that only runs the rest of the request inside \`AsyncLocalStorage.run\` with a new object (for Fastify in the same two hooks as the plugin): what binding anything per request costs in that framework, as a tracing library does. *A no-op middleware* (Express, Koa, Hono) only calls \`next()\`: what adding any middleware costs in that framework, the floor under an adapter that is a middleware. The last two ratio columns are the adapter against those two baselines (the ratio of the two ratios of each round), i.e. its marginal cost in a service that already uses AsyncLocalStorage, or already binds a request context with it. *Defaults* binds the context for \`current()\` (AsyncLocalStorage); \`current: false\` does not. *Server CPU per request* is the server process's user+system CPU time over requests served (median; for the bare server, over all pairs). Throughput part: ${benchSeconds.toFixed(0)} s. Load average before/after: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} on ${os.cpus().length} cores.`,
  );
  out.push('');
  out.push(
    table(
      [
        'Server',
        'ctxkit',
        'server CPU per request',
        'req/s vs bare (median)',
        'range over rounds',
        'CPU per request, bare / this',
        'with / ALS in use',
        'with / ALS bound per request',
        'target',
      ],
      rows,
    ),
  );
  out.push('');
  out.push(
    `A/A over all frameworks (${aa.length} rounds, bare vs bare): median ${(100 * median(aa)).toFixed(1)} %, middle 80 % ${(100 * percentile(aa, 10)).toFixed(1)} – ${(100 * percentile(aa, 90)).toFixed(1)} %, range ${(100 * Math.min(...aa)).toFixed(1)} – ${(100 * Math.max(...aa)).toFixed(1)} %.`,
  );
  out.push('');
  out.push(
    `ctxkit's own work per request, timed inside an instrumented node:http server under the same load (${warm(stats.bind).length} requests; the bare handler's whole CPU cost per request is in the first table):`,
  );
  out.push('');
  out.push(
    table(
      ['Step', 'p50', 'p99'],
      [
        ['`contextFromRequest(req, res)`', fmtPercentileNs(warm(stats.bind), 50), fmtPercentileNs(warm(stats.bind), 99)],
        [
          "its `'close'` listener (ends the context: `ResponseFinishedError`)",
          fmtPercentileNs(warm(stats.close), 50),
          fmtPercentileNs(warm(stats.close), 99),
        ],
      ],
    ),
  );
  out.push('');
  out.push(
    `Time until the request context has ended after the client closed its connection mid-request (${dis.n} requests, one at a time, in-process server on loopback):`,
  );
  out.push('');
  out.push(
    table(
      ['Measured from', 'p50', 'p99'],
      [
        ['client `socket.destroy()`', fmtUs(dis.fromClient, 50), fmtUs(dis.fromClient, 99)],
        ['server socket `close` event', fmtUs(dis.fromServer, 50), fmtUs(dis.fromServer, 99)],
      ],
    ),
  );
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(0);
}
function fmtPercentileNs(v: number[], p: number): string {
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
    if (i >= 100) {
      // the first ones warm the JIT
      fromClient.push((endedAt - t0) * 1000);
      fromServer.push((endedAt - serverCloseAt) * 1000);
    }
  }
  unsubscribe();
  server.close();
  return { n: fromClient.length, fromClient, fromServer };
}

if (ROLE === 'server') {
  await runServer(process.env.CTXKIT_HTTP_BENCH_SERVER ?? '');
} else if (ROLE === 'load') {
  await runLoad();
} else {
  await main();
}
