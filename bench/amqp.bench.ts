// @ctxkit/amqp against plain amqplib, same process, same broker (127.0.0.1:5672):
// 1. Consume throughput: a queue filled with N messages (each with a budget header), drained at
//    prefetch 20 by `consume` (a context per message, settle on withoutCancel) and by a plain
//    amqplib consumer running the same async handler and acking when it resolves. Interleaved
//    rounds, medians.
// 2. Cancel latency: a handler waits on its context; `consumer.cancel(ctx)` with an already spent
//    drain budget → the handler's context ended; and publish → handler started, p50/p99.
import os from 'node:os';
import amqp, { type Channel, type ConsumeMessage } from 'amqplib';
import { background, withCancel, withTimeout } from '@ctxkit/core';
import { TIMEOUT_HEADER } from '@ctxkit/http';
import { consume, publish } from '@ctxkit/amqp';
import { median, percentile, progress, table } from './lib.js';

const loadBefore = os.loadavg()[0]!;
const url = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const conn = await amqp.connect(url);
const admin = await conn.createChannel();
const queue = `ctxkit-amqp-bench-${process.pid}`;
await admin.assertQueue(queue, { durable: false, autoDelete: false });

const N = 10_000;
const PREFETCH = 20;
const ROUNDS = 7;

async function fill(): Promise<void> {
  const body = Buffer.from('x'.repeat(64));
  for (let i = 0; i < N; i++) {
    if (!admin.sendToQueue(queue, body, { headers: { [TIMEOUT_HEADER]: '30000' } })) await new Promise((r) => admin.once('drain', r));
  }
  for (;;) {
    if ((await admin.checkQueue(queue)).messageCount >= N) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handler = async (_msg: ConsumeMessage): Promise<void> => {};

/** Drains the queue with a plain amqplib consumer; messages per second and CPU µs per message. */
async function plain(ch: Channel): Promise<[number, number]> {
  await ch.prefetch(PREFETCH);
  let n = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { consumerTag } = await ch.consume(queue, (msg) => {
    if (msg === null) return;
    handler(msg).then(
      () => {
        ch.ack(msg);
        if (++n === N) done();
      },
      () => ch.nack(msg),
    );
  });
  await all;
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await ch.cancel(consumerTag);
  return [N / (wall / 1000), (cpu.user + cpu.system) / N];
}

/** Drains the queue through `consume`; messages per second and CPU µs per message. */
async function ctxkit(ch: Channel): Promise<[number, number]> {
  let n = 0;
  let done!: () => void;
  const all = new Promise<void>((r) => {
    done = r;
  });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const c = await consume(
    ch,
    queue,
    async (_ctx, msg) => {
      await handler(msg);
      if (++n === N) queueMicrotask(done);
    },
    { prefetch: PREFETCH },
  );
  await all;
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await c.cancel(background());
  return [N / (wall / 1000), (cpu.user + cpu.system) / N];
}

const ch = await conn.createChannel();
const results = new Map<string, number[]>([
  ['amqplib', []],
  ['consume', []],
]);
const cpus = new Map<string, number[]>([
  ['amqplib', []],
  ['consume', []],
]);
function record(name: string, [rate, cpu]: [number, number]): void {
  results.get(name)!.push(rate);
  cpus.get(name)!.push(cpu);
}
progress(`amqp: warm-up`);
await fill();
await plain(ch);
await fill();
await ctxkit(ch);
for (let r = 0; r < ROUNDS; r++) {
  progress(`amqp: throughput round ${r + 1}/${ROUNDS}`);
  await fill();
  record('amqplib', await plain(ch));
  await fill();
  record('consume', await ctxkit(ch));
}
const plainRate = median(results.get('amqplib')!);
const ctxRate = median(results.get('consume')!);
const plainCpu = median(cpus.get('amqplib')!);
const ctxCpu = median(cpus.get('consume')!);

// 2. Cancel latency.
const M = 200;
const toEnded: number[] = [];
const toStart: number[] = [];
progress(`amqp: cancel latency, ${M} cancels`);
for (let i = 0; i < M; i++) {
  let startedAt = 0;
  let endedAt = 0;
  let started!: () => void;
  const isStarted = new Promise<void>((r) => {
    started = r;
  });
  const c = await consume(ch, queue, async (ctx) => {
    startedAt = performance.now();
    started();
    await ctx.done.catch(() => {});
    endedAt = performance.now();
    throw ctx.err;
  });
  const req = withTimeout(background(), 30_000);
  const t0 = performance.now();
  await publish(req.ctx, admin, '', queue, 'x');
  req.cancel();
  await isStarted;
  toStart.push(startedAt - t0);
  const spent = withCancel(background());
  spent.cancel();
  const t1 = performance.now();
  await c.cancel(spent.ctx).catch(() => {});
  await c.done;
  toEnded.push(endedAt - t1);
  await ch.purgeQueue(queue); // on the channel that requeued it: after the requeue
}

await admin.deleteQueue(queue);
await conn.close();
const loadAfter = os.loadavg()[0]!;
const ms = (v: number): string => `${v.toFixed(2)} ms`;

process.stdout.write(`## @ctxkit/amqp vs plain amqplib

Throughput draining a queue of ${N.toLocaleString('en')} messages (64-byte body, a budget header)
at prefetch ${PREFETCH}, one consumer, the same async no-op handler; the plain consumer acks when
it resolves. Median of ${ROUNDS} interleaved rounds. \`consume\` adds per message: the codec's
\`extract\` (budget and trace), a context with its deadline, the handler run as a core operation,
and the ack as an operation on \`withoutCancel\`. Load average during the run:
${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (other work on the
machine; RabbitMQ itself runs on the same 2 cores).

${table(
  ['Consumer', 'Messages/s', 'vs amqplib', 'CPU per message (this process)', 'vs amqplib', 'Rounds (msg/s)'],
  [
    [
      'amqplib',
      plainRate.toFixed(0),
      '1.00',
      `${plainCpu.toFixed(1)} µs`,
      '1.00',
      results
        .get('amqplib')!
        .map((v) => v.toFixed(0))
        .join(', '),
    ],
    [
      'consume',
      ctxRate.toFixed(0),
      (ctxRate / plainRate).toFixed(2),
      `${ctxCpu.toFixed(1)} µs`,
      (ctxCpu / plainCpu).toFixed(2),
      results
        .get('consume')!
        .map((v) => v.toFixed(0))
        .join(', '),
    ],
  ],
)}

Latency over ${M} messages: publish (with a budget) → the handler started; and
\`consumer.cancel(ctx)\` with a spent drain budget → the handler's context ended (its
\`basic.cancel\` round trip first, then the contexts end).

${table(
  ['Path', 'p50', 'p99'],
  [
    ['publish → handler started', ms(percentile(toStart, 50)), ms(percentile(toStart, 99))],
    ['cancel(ctx) → handler ctx ended', ms(percentile(toEnded, 50)), ms(percentile(toEnded, 99))],
  ],
)}
`);
