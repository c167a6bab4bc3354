// publish and consume against the machine's RabbitMQ: budgets through message headers, settling
// per policy (checked on the broker: queue depths and a dead-letter queue), bounded confirms,
// malformed headers, listener accounting.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { background, cause, isContextError, withCancel, withTimeout, type Context } from '@ctxkit/core';
import { InvalidHeaderError, TIMEOUT_HEADER, getTraceContext, withTraceContext } from '@ctxkit/http';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import {
  ConsumerCancelledError,
  consume,
  MessageExpiredError,
  PoisonMessageError,
  PublishNackedError,
  PublishOutcomeUnknownError,
  publish,
} from '@ctxkit/amqp';
import { depth, openTestAmqp, queueName, queueWithDlq, waitFor } from './helpers.js';

const conn = await openTestAmqp('amqp publish/consume');
const TRACE = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('publish and consume', { skip: conn === undefined }, () => {
  let ch: Channel;
  let admin: Channel;
  const queues: string[] = [];
  before(async () => {
    ch = await conn!.createChannel();
    admin = await conn!.createChannel();
  });
  after(async () => {
    for (const q of queues) await admin.deleteQueue(q);
    await conn!.close();
  });

  async function fresh(tag: string, args?: Record<string, unknown>): Promise<{ queue: string; dlq: string }> {
    const q = await queueWithDlq(admin, tag, args);
    queues.push(q.queue, q.dlq);
    return q;
  }

  test('the budget and trace travel in the headers; the handler context carries them; success acks', async () => {
    const { queue } = await fresh('budget');
    const seen: Array<{ remaining: number; trace: string | undefined; header: unknown }> = [];
    const c = await consume(ch, queue, async (ctx: Context, msg: ConsumeMessage) => {
      seen.push({
        remaining: ctx.deadline === undefined ? Infinity : ctx.deadline - Date.now(),
        trace: getTraceContext(ctx)?.traceparent,
        header: msg.properties.headers?.[TIMEOUT_HEADER],
      });
    });
    const req = withTimeout(withTraceContext(background(), { traceparent: TRACE }), 10_000);
    await publish(req.ctx, ch, '', queue, 'hello');
    req.cancel();
    await waitFor('the handler', () => (seen.length === 1 ? true : undefined));
    await c.cancel(background());
    assert.equal(seen[0]!.trace, TRACE);
    const sent = Number(seen[0]!.header);
    assert.ok(sent > 9000 && sent <= 9995, `header budget ${sent}`);
    assert.ok(seen[0]!.remaining <= sent && seen[0]!.remaining > 0, `handler budget ${seen[0]!.remaining} vs header ${sent}`);
    assert.equal(await depth(admin, queue), 0); // acked: not back in the queue
  });

  test('maxBudgetMs clamps a larger budget; expireWithBudget sets the AMQP expiration', async () => {
    const { queue } = await fresh('clamp');
    let got: { budget: number; expiration: unknown } | undefined;
    const c = await consume(
      ch,
      queue,
      (ctx, msg) => {
        got = { budget: ctx.deadline! - Date.now(), expiration: msg.properties.expiration };
      },
      { maxBudgetMs: 1000 },
    );
    const req = withTimeout(background(), 60_000);
    await publish(req.ctx, ch, '', queue, 'x', { expireWithBudget: true });
    req.cancel();
    await waitFor('the handler', () => got);
    await c.cancel(background());
    assert.ok(got!.budget <= 1000, `budget ${got!.budget}`);
    const exp = Number(got!.expiration);
    assert.ok(exp > 59_000 && exp <= 59_995, `expiration ${String(got!.expiration)}`);
  });

  test('an ended context publishes nothing and rejects with ctx.err', async () => {
    const { queue } = await fresh('ended');
    const s = withCancel(background());
    s.cancel();
    await assert.rejects(publish(s.ctx, ch, '', queue, 'x'), (e) => e === s.ctx.err);
    const confirm = await conn!.createConfirmChannel();
    await assert.rejects(publish(s.ctx, confirm, '', queue, 'x'), (e) => e === s.ctx.err);
    await confirm.close();
    assert.equal(await depth(admin, queue), 0);
  });

  test('a confirm wait ends with the context: PublishOutcomeUnknownError, and the message may still arrive', async () => {
    const { queue } = await fresh('confirm');
    const confirm: ConfirmChannel = await conn!.createConfirmChannel();
    assert.equal(await publish(background(), confirm, '', queue, 'confirmed'), true);
    const s = withCancel(background());
    const p = publish(s.ctx, confirm, '', queue, 'unknown');
    s.cancel(); // before the broker could possibly have confirmed
    await assert.rejects(p, (e: unknown) => e instanceof PublishOutcomeUnknownError && e.cause === s.ctx.err);
    await confirm.waitForConfirms();
    // Outcome unknown to the publisher; here the broker did route it.
    assert.equal(await depth(admin, queue), 2);
    await confirm.close();
  });

  test('a broker nack rejects with PublishNackedError', async () => {
    const queue = queueName('nack');
    queues.push(queue);
    await admin.assertQueue(queue, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
    const confirm = await conn!.createConfirmChannel();
    await assert.rejects(publish(background(), confirm, '', queue, 'x'), PublishNackedError);
    await confirm.close();
  });

  test('a spent budget is not handled: rejected to the dead-letter queue and reported', async () => {
    const { queue, dlq } = await fresh('spent');
    const handled: string[] = [];
    const errors: unknown[] = [];
    // Publish first: budget 0 in the header.
    ch.sendToQueue(queue, Buffer.from('spent'), { headers: { [TIMEOUT_HEADER]: '0' } });
    ch.sendToQueue(queue, Buffer.from('stale'), { headers: { [TIMEOUT_HEADER]: '5000', 'ctxkit-sent-ms': String(Date.now() - 10_000) } });
    ch.sendToQueue(queue, Buffer.from('fine'), { headers: { [TIMEOUT_HEADER]: '5000' } });
    const c = await consume(ch, queue, (_ctx, msg) => void handled.push(msg.content.toString()), { onError: (e) => errors.push(e) });
    await waitFor('two in the dead-letter queue', async () => ((await depth(admin, dlq)) === 2 ? true : undefined));
    await waitFor('the good one handled', () => (handled.length === 1 ? true : undefined));
    await c.cancel(background());
    assert.deepEqual(handled, ['fine']);
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e instanceof MessageExpiredError));
    assert.equal(await depth(admin, queue), 0);
  });

  test("a malformed budget header is rejected (invalid: 'reject') or ignored (invalid: 'ignore'), never a crash", async () => {
    const { queue, dlq } = await fresh('malformed');
    const bad = [
      { [TIMEOUT_HEADER]: 'soon' },
      { [TIMEOUT_HEADER]: Buffer.from('12x') },
      { 'grpc-timeout': '1Q' },
      { [TIMEOUT_HEADER]: ['1', '2'] },
    ];
    for (const headers of bad) ch.sendToQueue(queue, Buffer.from('bad'), { headers });
    const errors: unknown[] = [];
    let handled = 0;
    const c = await consume(ch, queue, () => void handled++, { onError: (e) => errors.push(e) });
    await waitFor('all dead-lettered', async () => ((await depth(admin, dlq)) === bad.length ? true : undefined));
    await c.cancel(background());
    assert.equal(handled, 0);
    assert.equal(errors.length, bad.length);
    assert.ok(
      errors.every((e) => e instanceof InvalidHeaderError),
      String(errors),
    );

    for (const headers of bad) ch.sendToQueue(queue, Buffer.from('bad'), { headers });
    const c2 = await consume(ch, queue, () => void handled++, { invalid: 'ignore', maxBudgetMs: 5000 });
    await waitFor('all handled', () => (handled === bad.length ? true : undefined));
    await c2.cancel(background());
    assert.equal(await depth(admin, queue), 0);
  });

  test('a failing handler is requeued until maxDeliveries (quorum queue x-delivery-count), then dead-lettered', async () => {
    const { queue, dlq } = await fresh('poison', { 'x-queue-type': 'quorum' });
    let attempts = 0;
    const errors: unknown[] = [];
    const c = await consume(
      ch,
      queue,
      () => {
        attempts++;
        throw new Error('boom');
      },
      { maxDeliveries: 3, onError: (e) => errors.push(e) },
    );
    await publish(background(), ch, '', queue, 'poison');
    await waitFor('dead-lettered', async () => ((await depth(admin, dlq)) === 1 ? true : undefined));
    await c.cancel(background());
    assert.equal(attempts, 3);
    assert.equal(errors.length, 3);
    assert.ok(errors[2] instanceof PoisonMessageError && errors[2].deliveries === 3);
  });

  test('on a classic queue (no delivery count) a failing message is retried once, then dead-lettered', async () => {
    const { queue, dlq } = await fresh('classic-poison');
    let attempts = 0;
    const c = await consume(ch, queue, () => {
      attempts++;
      throw new Error('boom');
    });
    await publish(background(), ch, '', queue, 'poison');
    await waitFor('dead-lettered', async () => ((await depth(admin, dlq)) === 1 ? true : undefined));
    await c.cancel(background());
    assert.equal(attempts, 2);
  });

  test('cancel(ctx): handlers finish within the drain budget; past it their contexts end and the message is requeued', async () => {
    const { queue } = await fresh('drain');
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const started: string[] = [];
    const ended: unknown[] = [];
    const c = await consume(
      ch,
      queue,
      async (ctx, msg) => {
        started.push(msg.content.toString());
        if (msg.content.toString() === 'quick') return gate;
        // 'stuck' waits for its context to end
        await new Promise<void>((r) => ctx.done.then(() => r()));
        ended.push(cause(ctx));
        throw ctx.err;
      },
      { prefetch: 10 },
    );
    await publish(background(), ch, '', queue, 'quick');
    await waitFor('quick started', () => (started.length === 1 ? true : undefined));
    // Drain with a live budget: the handler finishes, cancel resolves.
    const drain = c.cancel(background());
    release();
    await drain;
    assert.equal(c.inFlight, 0);
    await c.done;

    const c2 = await consume(ch, queue, async (ctx, msg) => {
      started.push(msg.content.toString());
      await new Promise<void>((r) => ctx.done.then(() => r()));
      ended.push(cause(ctx));
      throw ctx.err;
    });
    await publish(background(), ch, '', queue, 'stuck');
    await waitFor('stuck started', () => (started.length === 2 ? true : undefined));
    const budget = withCancel(background());
    const stopping = c2.cancel(budget.ctx);
    budget.cancel(); // the drain budget is over
    await assert.rejects(stopping, (e) => isContextError(e));
    await c2.done;
    assert.ok(ended[0] instanceof ConsumerCancelledError && ended[0].server === false);
    await waitFor('requeued', async () => ((await depth(admin, queue)) === 1 ? true : undefined));
    assert.equal(await depth(admin, queue), 1);
    await admin.purgeQueue(queue);
  });

  test('listeners on the channel and the connection are back to baseline after many messages and after cancel', async () => {
    const { queue } = await fresh('listeners');
    const chan = await conn!.createChannel();
    const rawConn = chan.connection as unknown as { listenerCount(e: string): number };
    const base = { ch: chan.listenerCount('close'), conn: rawConn.listenerCount('close') };
    let n = 0;
    const c = await consume(chan, queue, () => void n++, { prefetch: 50 });
    assert.equal(chan.listenerCount('close'), base.ch + 1);
    for (let i = 0; i < 500; i++) chan.sendToQueue(queue, Buffer.from(String(i)), { headers: { [TIMEOUT_HEADER]: '5000' } });
    await waitFor('500 handled', () => (n === 500 ? true : undefined));
    assert.equal(chan.listenerCount('close'), base.ch + 1);
    assert.equal(rawConn.listenerCount('close'), base.conn + 1);
    await c.cancel(background());
    assert.equal(chan.listenerCount('close'), base.ch);
    assert.equal(rawConn.listenerCount('close'), base.conn);
    assert.equal(await depth(admin, queue), 0);
    await chan.close();
  });

  test('bad arguments throw a TypeError naming the problem', async () => {
    await assert.rejects(
      consume(ch, 'q', () => {}, { prefetch: -1 }),
      /options\.prefetch/,
    );
    await assert.rejects(
      consume(ch, 'q', () => {}, { maxDelivery: 2 } as never),
      /unknown option 'maxDelivery'/,
    );
    await assert.rejects(
      consume(ch, 'q', () => {}, { consumeOptions: { noAck: true } as never }),
      /noAck is not allowed/,
    );
    await assert.rejects(publish(background(), ch, '', 'q', 42 as never), /body must be/);
  });
});
