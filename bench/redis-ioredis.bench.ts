// @ctxkit/redis over ioredis against bare ioredis, same process, same server (127.0.0.1:6379 or
// REDIS_URL):
// 1. GET throughput: r.get(ctx, k) vs client.get(k), 16 commands in flight (each its own write),
//    and pipelines of 100 GETs: r.pipeline(ctx, …) vs client.pipeline()…exec(). Two clients, one
//    per side, in interleaved batches; the figure is the median over the batches.
// 2. Cancel of a blocked BLPOP: time from cancel() until the server no longer lists the
//    connection as blocked (CLIENT LIST polled over an admin connection), p50/p99.
import os from 'node:os';
import { Redis } from 'ioredis';
import { background, withCancel } from '@ctxkit/core';
import { wrapRedis } from '@ctxkit/redis/ioredis';
import { median, percentile, progress, table } from './lib.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const loadBefore = os.loadavg()[0]!;
const name = `ctxkit-bench-ioredis-${process.pid}`;
const bare = new Redis(url, { connectionName: `${name}-bare` });
const wrappedClient = new Redis(url, { connectionName: `${name}-wrapped` });
const admin = new Redis(url, { connectionName: `${name}-admin` });
const r = wrapRedis(wrappedClient);
const key = `${name}:k`;
await bare.set(key, 'x'.repeat(64));
const ctx = background();

async function loop(op: () => Promise<unknown>, n: number, inflight: number): Promise<number> {
  let left = n;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (left-- > 0) await op();
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Ops per second of each candidate, medians over `rounds` interleaved batches. */
async function duel(
  ops: Record<string, () => Promise<unknown>>,
  n: number,
  inflight: number,
  rounds: number,
): Promise<Record<string, number>> {
  const got: Record<string, number[]> = {};
  const names = Object.keys(ops);
  for (const k of names) {
    got[k] = [];
    await loop(ops[k]!, n / 4, inflight); // warm-up
  }
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const k of order) got[k]!.push(await loop(ops[k]!, n, inflight));
  }
  return Object.fromEntries(names.map((k) => [k, median(got[k]!)]));
}

progress('redis-ioredis: GET, 16 in flight');
const single = await duel({ bare: () => bare.get(key), wrapped: () => r.get(ctx, key) }, 20_000, 16, 9);
progress('redis-ioredis: pipelines of 100 GETs');
const PIPE = 100;
const pipelined = await duel(
  {
    bare: () => {
      const p = bare.pipeline();
      for (let i = 0; i < PIPE; i++) p.get(key);
      return p.exec();
    },
    wrapped: () =>
      r.pipeline(ctx, (p) => {
        for (let i = 0; i < PIPE; i++) p.get(key);
      }),
  },
  400,
  4,
  9,
);

progress('redis-ioredis: BLPOP cancel');
const M = 200;
const unblockMs: number[] = [];
const rejectMs: number[] = [];
const blockedIds = async (): Promise<string[]> =>
  String(await admin.client('LIST'))
    .split('\n')
    .filter((l) => l.includes(` name=${name}-wrapped:blocking `) && / flags=\S*b/.test(l))
    .map((l) => /id=(\d+)/.exec(l)![1]!);
for (let i = 0; i < M; i++) {
  const s = withCancel(background());
  const pop = r.blocking(s.ctx).blpop(`${name}:q`, 0);
  while ((await blockedIds()).length === 0) {}
  const t0 = performance.now();
  s.cancel();
  await pop.catch(() => {});
  rejectMs.push(performance.now() - t0);
  while ((await blockedIds()).length > 0) {}
  unblockMs.push(performance.now() - t0);
}

await bare.del(key);
await r.close();
bare.disconnect();
wrappedClient.disconnect();
admin.disconnect();
const loadAfter = os.loadavg()[0]!;

const ratio = (x: Record<string, number>) => `${((x['wrapped']! / x['bare']!) * 100).toFixed(1)} %`;
const kops = (v: number) => `${(v / 1000).toFixed(1)} k/s`;
process.stdout.write(`## Redis over ioredis (@ctxkit/redis/ioredis)

GET throughput through \`wrapRedis(client)\` against bare ioredis, same run, two clients on the
same server (one per side), interleaved batches, medians of 9. Load average during the run:
${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (other work on the machine).

${table(
  ['Workload', 'bare ioredis', 'wrapRedis', 'wrapped vs bare'],
  [
    ['GET, 16 in flight (one write each)', kops(single['bare']!), kops(single['wrapped']!), ratio(single)],
    [
      `pipelines of ${PIPE} GETs, 4 in flight (GETs per second)`,
      kops(pipelined['bare']! * PIPE),
      kops(pipelined['wrapped']! * PIPE),
      ratio(pipelined),
    ],
  ],
)}

Cancel of a blocked \`BLPOP\` (${M} cancels): the promise rejects with \`ctx.err\` at once; the
server stops blocking after \`CLIENT UNBLOCK\` from the control connection. "Unblocked" is when
\`CLIENT LIST\` (polled from another connection) no longer flags the connection as blocked, so
it includes up to one poll round trip.

${table(
  ['Event after cancel()', 'p50', 'p99'],
  [
    ['promise rejected', `${median(rejectMs).toFixed(3)} ms`, `${percentile(rejectMs, 99).toFixed(3)} ms`],
    ['server reports it unblocked', `${median(unblockMs).toFixed(3)} ms`, `${percentile(unblockMs, 99).toFixed(3)} ms`],
  ],
)}
`);
