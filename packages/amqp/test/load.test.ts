// 5,000 messages through `consume` at prefetch 20, 30% of them with their budget spent and random
// handler failures: every message ends acked exactly once after a successful handler, or in the
// dead-letter queue — none lost, none succeeded twice. Counted here and on the broker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { background } from '@ctxkit/core';
import { TIMEOUT_HEADER } from '@ctxkit/http';
import type { Channel } from 'amqplib';
import { consume, MessageExpiredError, PoisonMessageError } from '@ctxkit/amqp';
import { depth, openTestAmqp, queueWithDlq, waitFor } from './helpers.js';

const conn = await openTestAmqp('amqp load');
const N = 5000;

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('load', { skip: conn === undefined }, () => {
  let ch: Channel;
  let admin: Channel;
  let names: { queue: string; dlq: string };
  before(async () => {
    ch = await conn!.createChannel();
    admin = await conn!.createChannel();
    names = await queueWithDlq(admin, 'load', { 'x-queue-type': 'quorum' });
  });
  after(async () => {
    await admin.deleteQueue(names.queue);
    await admin.deleteQueue(names.dlq);
    await conn!.close();
  });

  test(`${N} messages, 30% spent, random failures, prefetch 20: each acked once or dead-lettered`, async () => {
    const seed = Number(process.env['AMQP_LOAD_SEED'] ?? Date.now() % 1e9);
    const random = rng(seed);
    const spent = new Set<number>();
    for (let i = 0; i < N; i++) {
      const isSpent = random() < 0.3;
      if (isSpent) spent.add(i);
      ch.sendToQueue(names.queue, Buffer.from(String(i)), { headers: { [TIMEOUT_HEADER]: isSpent ? '0' : '30000' } });
    }
    const succeeded = new Map<number, number>();
    let failures = 0;
    let expired = 0;
    let poison = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const c = await consume(
      ch,
      names.queue,
      async (_ctx, msg) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          const id = Number(msg.content.toString());
          if (random() < 0.5) await new Promise((r) => setImmediate(r));
          if (random() < 0.25) {
            failures++;
            throw new Error(`random failure of ${id}`);
          }
          succeeded.set(id, (succeeded.get(id) ?? 0) + 1);
        } finally {
          inFlight--;
        }
      },
      {
        prefetch: 20,
        maxDeliveries: 3,
        onError: (e) => {
          if (e instanceof MessageExpiredError) expired++;
          else if (e instanceof PoisonMessageError) poison++;
        },
      },
    );
    await waitFor('every message settled', async () => (succeeded.size + (await depth(admin, names.dlq)) >= N ? true : undefined), 120_000);
    await c.cancel(background());

    // Broker side: nothing left in the queue (ready or unacked: the consumer is gone, so unacked
    // messages would be back as ready), and the dead-letter queue holds exactly the rest.
    assert.equal(await depth(admin, names.queue), 0, `seed ${seed}`);
    const dead = new Set<number>();
    let deadDeliveries = 0;
    for (;;) {
      const m = await admin.get(names.dlq, { noAck: true });
      if (m === false) break;
      deadDeliveries++;
      dead.add(Number(m.content.toString()));
    }
    assert.equal(deadDeliveries, dead.size, `a message dead-lettered twice (seed ${seed})`);
    for (const [id, n] of succeeded) {
      assert.equal(n, 1, `message ${id} succeeded ${n} times (seed ${seed})`);
      assert.ok(!dead.has(id), `message ${id} both succeeded and dead-lettered (seed ${seed})`);
      assert.ok(!spent.has(id), `spent message ${id} was handled (seed ${seed})`);
    }
    assert.equal(succeeded.size + dead.size, N, `lost messages (seed ${seed})`);
    for (const id of spent) assert.ok(dead.has(id), `spent message ${id} not dead-lettered (seed ${seed})`);
    assert.equal(expired, spent.size);
    assert.equal(dead.size, spent.size + poison);
    assert.ok(failures > 0 && poison > 0, `the run exercised failures (${failures}) and the poison limit (${poison})`);
    assert.ok(maxInFlight <= 20, `prefetch respected: ${maxInFlight} handlers at once`);
  });
});
