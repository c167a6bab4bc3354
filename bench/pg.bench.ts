// @ctxkit/pg against plain node-postgres, same process, same server (127.0.0.1:5432, or an
// embedded PostgreSQL when none is configured):
// 1. SELECT 1 throughput: db.query(ctx, …) vs pool.query(…), one in flight and 16 in flight,
//    with a never-ending context, a per-request cancellable context, a deadline (which adds the
//    server-side statement_timeout: a SET only when the value a connection holds does not fit the
//    budget), and deadlines drawn at random between 0.5 and 10 s (many budgets do not fit).
// 2. Cancel latency: time from scope.cancel() until pg_stat_activity shows the backend idle, and
//    until the promise rejects; compared with pg_cancel_backend() sent by hand over an
//    already-open admin connection.
import os from 'node:os';
import pg from 'pg';
import { background, withCancel, withTimeout } from '@ctxkit/core';
import { wrapPool } from '@ctxkit/pg';
import { startTestDatabase } from '@ctxkit/pg/testing';
import { median, percentile, progress, table } from './lib.js';

const loadBefore = os.loadavg()[0]!;
const database = await startTestDatabase();
progress(`pg: database from ${database.source}`);
const app = `ctxkit-pg-bench-${process.pid}`;
const pool = new pg.Pool({ connectionString: database.connectionString, application_name: app, max: 8 });
const admin = new pg.Pool({ connectionString: database.connectionString, application_name: `${app}-admin`, max: 2 });
pool.on('error', () => {});
/** `SET statement_timeout` statements sent on the pool's connections (counted by a thin spy). */
let timeoutSets = 0;
pool.on('connect', (client) => {
  const query = client.query as (...a: unknown[]) => unknown;
  (client as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    if (typeof args[0] === 'string' && args[0].startsWith('SET statement_timeout')) timeoutSets++;
    return query.apply(this, args);
  };
});
const db = wrapPool(pool);

type Runner = () => Promise<unknown>;

interface Sample {
  qps: number;
  cpuUs: number;
  setsPer1k: number;
}

/** Runs `n` operations with `inflight` concurrent loops: queries per second and CPU µs per query. */
async function measure(op: Runner, n: number, inflight: number): Promise<Sample> {
  let left = n;
  const sets0 = timeoutSets;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (left-- > 0) await op();
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return { qps: n / (wall / 1000), cpuUs: (cpu.user + cpu.system) / n, setsPer1k: ((timeoutSets - sets0) * 1000) / n };
}

/**
 * Medians per candidate over many short interleaved batches: this machine is shared, so load
 * shifts within seconds; short alternating batches expose every candidate to the same load.
 */
async function compareQps(cands: Array<[string, Runner]>, batch: number, inflight: number, rounds: number): Promise<Map<string, Sample>> {
  for (const [, op] of cands) await measure(op, batch, inflight); // warm-up
  const samples = new Map<string, Sample[]>(cands.map(([k]) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, op] of cands) samples.get(name)!.push(await measure(op, batch, inflight));
  }
  return new Map(
    [...samples].map(([k, v]) => [
      k,
      {
        qps: median(v.map((x) => x.qps)),
        cpuUs: median(v.map((x) => x.cpuUs)),
        setsPer1k: v.reduce((a, x) => a + x.setsPer1k, 0) / v.length,
      },
    ]),
  );
}

const plain: Runner = () => pool.query('SELECT 1');
const wrappedBg: Runner = () => db.query(background(), 'SELECT 1');
const wrappedCancel: Runner = async () => {
  const s = withCancel(background());
  try {
    return await db.query(s.ctx, 'SELECT 1');
  } finally {
    s.cancel();
  }
};
const wrappedDeadline: Runner = async () => {
  const s = withTimeout(background(), 10_000);
  try {
    return await db.query(s.ctx, 'SELECT 1');
  } finally {
    s.cancel();
  }
};

/** Budgets spread over 0.5–10 s (a fixed sequence, the same for every batch). */
const spread = Array.from({ length: 997 }, (_, i) => 500 + ((i * 7919) % 9500));
let next = 0;
const wrappedSpread: Runner = async () => {
  const s = withTimeout(background(), spread[next++ % spread.length]!);
  try {
    return await db.query(s.ctx, 'SELECT 1');
  } finally {
    s.cancel();
  }
};

const throughputRows: string[][] = [];
const ROUNDS = 30;
for (const inflight of [1, 16]) {
  const batch = inflight === 1 ? 200 : 400;
  progress(`pg: SELECT 1 throughput, ${inflight} in flight`);
  const r = await compareQps(
    [
      ['pool.query (node-postgres)', plain],
      ['db.query, background()', wrappedBg],
      ['db.query, withCancel per query', wrappedCancel],
      ['db.query, withTimeout(10 s) per query', wrappedDeadline],
      ['db.query, withTimeout(0.5–10 s at random) per query', wrappedSpread],
    ],
    batch,
    inflight,
    ROUNDS,
  );
  const base = r.get('pool.query (node-postgres)')!;
  for (const [name, v] of r) {
    throughputRows.push([
      String(inflight),
      name,
      `${Math.round(v.qps).toLocaleString('en-US')}/s`,
      `${((v.qps / base.qps) * 100).toFixed(1)}%`,
      `${v.cpuUs.toFixed(1)} µs`,
      `${v.cpuUs - base.cpuUs >= 0 ? '+' : ''}${(v.cpuUs - base.cpuUs).toFixed(1)} µs`,
      v.setsPer1k.toFixed(1),
    ]);
  }
}

// Transactions: the deadline goes to the server in the BEGIN message (SET LOCAL), so it is free.
const plainTx: Runner = async () => {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    for (let i = 0; i < 3; i++) await c.query('SELECT 1');
    await c.query('COMMIT');
  } finally {
    c.release();
  }
};
const wrappedTx: Runner = async () => {
  const s = withTimeout(background(), 10_000);
  try {
    await db.transaction(s.ctx, async (tx) => {
      for (let i = 0; i < 3; i++) await tx.query(s.ctx, 'SELECT 1');
    });
  } finally {
    s.cancel();
  }
};
progress('pg: transactions of 3 statements, 4 in flight');
const txr = await compareQps(
  [
    ['pool.connect + BEGIN, 3 × SELECT 1, COMMIT', plainTx],
    ['db.transaction, withTimeout(10 s), 3 × tx.query', wrappedTx],
  ],
  100,
  4,
  ROUNDS,
);
const txBase = txr.get('pool.connect + BEGIN, 3 × SELECT 1, COMMIT')!;
const txRows = [...txr].map(([name, v]) => [
  name,
  `${Math.round(v.qps).toLocaleString('en-US')}/s`,
  `${((v.qps / txBase.qps) * 100).toFixed(1)}%`,
  `${v.cpuUs.toFixed(1)} µs`,
  `${v.cpuUs - txBase.cpuUs >= 0 ? '+' : ''}${(v.cpuUs - txBase.cpuUs).toFixed(1)} µs`,
]);

/** The backend of `app` running `needle`, once the server shows it active. */
async function activePid(needle: string): Promise<number> {
  for (;;) {
    const r = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE $2`,
      [app, `%${needle}%`],
    );
    if (r.rows.length > 0) return r.rows[0]!.pid;
  }
}

/** Polls pg_stat_activity until `pid` is idle; returns performance.now() at that moment. */
async function idleAt(pid: number): Promise<number> {
  for (;;) {
    const r = await admin.query<{ state: string }>(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [pid]);
    if (r.rows[0]?.state === 'idle') return performance.now();
  }
}

const M = 60;
const toIdle: number[] = [];
const toReject: number[] = [];
const manualToIdle: number[] = [];
progress(`pg: cancel latency, ${M} cancels each way`);
for (let i = 0; i < M; i++) {
  // ctxkit: scope.cancel() → CancelRequest → backend idle, promise rejected after the health check.
  const s = withCancel(background());
  let rejectedAt = 0;
  const p = db.query(s.ctx, `SELECT pg_sleep(30) /* bench-${i} */`).catch(() => {
    rejectedAt = performance.now();
  });
  const pid = await activePid(`bench-${i} `);
  const t0 = performance.now();
  s.cancel();
  const idle = idleAt(pid);
  await p;
  toIdle.push((await idle) - t0);
  toReject.push(rejectedAt - t0);

  // By hand: pg_cancel_backend over an admin connection that is already open.
  const c = await pool.connect();
  const q = c.query(`SELECT pg_sleep(30) /* manual-${i} */`).catch(() => {});
  const mpid = await activePid(`manual-${i} `);
  const m0 = performance.now();
  await admin.query('SELECT pg_cancel_backend($1)', [mpid]);
  const mIdle = await idleAt(mpid);
  manualToIdle.push(mIdle - m0);
  await q;
  c.release();
}

const fmt = (ms: number): string => `${ms.toFixed(2)} ms`;
const cancelRows = [
  ['ctxkit: `scope.cancel()` → backend idle', fmt(percentile(toIdle, 50)), fmt(percentile(toIdle, 99))],
  ['ctxkit: `scope.cancel()` → promise rejected (after health check)', fmt(percentile(toReject, 50)), fmt(percentile(toReject, 99))],
  [
    'by hand: `pg_cancel_backend()` on an open admin connection → backend idle',
    fmt(percentile(manualToIdle, 50)),
    fmt(percentile(manualToIdle, 99)),
  ],
];

await pool.end();
await admin.end();
await database.stop();
const loadAfter = os.loadavg()[0]!;

process.stdout.write(`## PostgreSQL (@ctxkit/pg)

\`SELECT 1\` through \`db.query\` against plain \`pool.query\` of node-postgres, on the same pool
(max 8 connections; PostgreSQL on loopback, from ${database.source}). Medians of ${ROUNDS} short interleaved
batches per client (this 2-core machine is shared, so throughput moves with the load; the CPU
time this process spends per query is the steadier figure). With a deadline, the server-side
\`statement_timeout\` a connection holds is reused while it lies within [R + 50 ms, R + 50 ms +
max(25 % of R, 100 ms)] of the statement's remaining budget R; only when it does not fit does a
\`SET\` (one round trip) precede the statement, and it stays in force (no \`SET\` back). Equal
budgets (the 10 s rows: every request of a service has the same budget) almost never need one;
budgets spread at random over 0.5–10 s, on 8 pooled connections, often do. Load average
during the run: ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (other
work on the machine). Every client's connections carry the same thin spy that counts the
\`SET statement_timeout\` statements (last column). Those of plain \`pool.query\` are this
package's guard at work: a connection a deadline batch left holding a value of ours gets the
session's own value back (a \`SET\` queued ahead of the first plain statement) — once per
connection per batch here, so the plain client pays for it too, and the next deadline batch
sets its value again as often.

${table(['In flight', 'Client', 'Throughput', 'vs pool.query', 'CPU per query', 'vs pool.query', 'SETs per 1,000 queries'], throughputRows)}

Transactions of three statements, 4 in flight: with a deadline, \`db.transaction\` keeps the
value the connection holds when it fits, else sends \`SET LOCAL statement_timeout\` in the same
message as BEGIN, so the server-side deadline costs no round trip here.

${table(['Client', 'Transactions', 'vs plain', 'CPU per transaction', 'vs plain'], txRows)}

Cancel latency over ${M} cancels of \`pg_sleep(30)\`, measured by polling \`pg_stat_activity\` from
another connection (each figure includes up to one poll round trip). A CancelRequest opens a new
connection to the server, for which PostgreSQL forks a process: that fork is most of the
difference with \`pg_cancel_backend()\` sent over a connection that is already open — which needs
a spare connection and the right role, where the CancelRequest needs neither.

${table(['Path', 'p50', 'p99'], cancelRows)}
`);
