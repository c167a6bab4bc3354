// A handler in a PostgreSQL statement (through @ctxkit/pg) when its consumer or channel goes away:
// the statement stops in the server (pg_stat_activity), the message is redelivered and acked
// exactly once by the next consumer, and the cause tells what happened.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { background, cause, type Context } from '@ctxkit/core';
import { wrapPool, type Db } from '@ctxkit/pg';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { ChannelClosedError, ConnectionClosedError, ConsumerCancelledError, consume, publish, SettleFailedError } from '@ctxkit/amqp';
import { connect, depth, openTestAmqp, queueName, waitFor } from './helpers.js';

const conn = await openTestAmqp('amqp downstream');
let database: TestDatabase | undefined;
try {
  database = await startTestDatabase();
} catch (e) {
  if (process.env['CI'] === 'true') throw e;
  process.stderr.write(`\n!!!!!!!! amqp downstream: SKIPPED — ${e instanceof Error ? e.message : String(e)}\n\n`);
}

describe('handler in a pg statement', { skip: conn === undefined || database === undefined }, () => {
  const app = `ctxkit-amqp-pg-${process.pid}-${randomBytes(3).toString('hex')}`;
  let pool: pg.Pool;
  let admin: pg.Pool;
  let db: Db;
  let mq: Channel;
  const queues: string[] = [];
  before(async () => {
    pool = new pg.Pool({ connectionString: database!.connectionString, application_name: app, max: 4 });
    pool.on('error', () => {});
    admin = new pg.Pool({ connectionString: database!.connectionString, max: 1 });
    db = wrapPool(pool);
    mq = await conn!.createChannel();
  });
  after(async () => {
    for (const q of queues) await mq.deleteQueue(q);
    await conn!.close();
    await pool.end();
    await admin.end();
    await database!.stop();
  });

  const sleeping = async (): Promise<number | undefined> => {
    const r = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND state = 'active' AND query LIKE '%pg_sleep(30)%'`,
      [app],
    );
    return r.rows[0]?.pid;
  };
  const stopped = async (): Promise<true | undefined> => ((await sleeping()) === undefined ? true : undefined);

  /** Starts a consumer on `ch` whose handler sleeps in PostgreSQL; resolves with what it saw. */
  async function slowConsumer(ch: Channel, queue: string) {
    const seen: { causes: unknown[]; errors: unknown[] } = { causes: [], errors: [] };
    const c = await consume(
      ch,
      queue,
      async (ctx: Context) => {
        try {
          await db.query(ctx, 'SELECT pg_sleep(30)');
        } finally {
          seen.causes.push(cause(ctx));
        }
      },
      { onError: (e) => seen.errors.push(e) },
    );
    return { c, seen };
  }

  /** A second consumer that acks whatever comes, counting redeliveries. */
  async function drainer(ch: Channel, queue: string) {
    const got: ConsumeMessage[] = [];
    const c = await consume(ch, queue, (_ctx, msg) => void got.push(msg));
    return { c, got };
  }

  async function freshQueue(tag: string): Promise<string> {
    const q = queueName(tag);
    queues.push(q);
    await mq.assertQueue(q, { durable: false });
    return q;
  }

  test('the channel is closed: the statement stops, the message is redelivered and acked once', async () => {
    const queue = await freshQueue('pg-channel');
    const ch = await conn!.createChannel();
    const { c, seen } = await slowConsumer(ch, queue);
    await publish(background(), mq, '', queue, 'work');
    await waitFor('the statement running', sleeping);
    await ch.close();
    await waitFor('the statement stopped in PostgreSQL', stopped);
    await c.done;
    assert.ok(seen.causes[0] instanceof ChannelClosedError, String(seen.causes[0]));
    assert.ok(seen.errors[0] instanceof SettleFailedError);

    const other = await conn!.createChannel();
    const d = await drainer(other, queue);
    await waitFor('the redelivery', () => (d.got.length === 1 ? true : undefined));
    assert.equal(d.got[0]!.fields.redelivered, true);
    await d.c.cancel(background());
    assert.equal(await depth(mq, queue), 0);
    await other.close(); // a double ack would have closed it with PRECONDITION_FAILED first
  });

  for (const how of ['closed by the client', 'reset under it'] as const) {
    test(`the connection is ${how}: the statement stops, the message is redelivered and acked once`, async () => {
      const queue = await freshQueue('pg-conn');
      const own: ChannelModel = await connect();
      const ch = await own.createChannel();
      const { c, seen } = await slowConsumer(ch, queue);
      await publish(background(), mq, '', queue, 'work');
      await waitFor('the statement running', sleeping);
      if (how === 'closed by the client') await own.close();
      // A connection reset, as when the broker's host goes away.
      else (own.connection as unknown as { stream: { destroy(e: Error): void } }).stream.destroy(new Error('read ECONNRESET'));
      await waitFor('the statement stopped in PostgreSQL', stopped);
      await c.done;
      assert.ok(seen.causes[0] instanceof ConnectionClosedError, String(seen.causes[0]));

      const other = await conn!.createChannel();
      const d = await drainer(other, queue);
      await waitFor('the redelivery', () => (d.got.length === 1 ? true : undefined));
      assert.equal(d.got[0]!.fields.redelivered, true);
      await d.c.cancel(background());
      assert.equal(await depth(mq, queue), 0);
      await other.close();
    });
  }

  test('the queue is deleted (basic.cancel): the statement stops, nothing is acked, the channel stays usable', async () => {
    const queue = queueName('pg-deleted');
    await mq.assertQueue(queue, { durable: false });
    const ch = await conn!.createChannel();
    let channelError: unknown;
    ch.on('error', (e) => {
      channelError = e;
    });
    const { c, seen } = await slowConsumer(ch, queue);
    await publish(background(), mq, '', queue, 'work');
    await waitFor('the statement running', sleeping);
    await mq.deleteQueue(queue);
    await waitFor('the statement stopped in PostgreSQL', stopped);
    await c.done;
    const why = seen.causes[0];
    assert.ok(why instanceof ConsumerCancelledError && why.server, String(why));
    // The requeue (nack) of a message whose queue is gone is accepted by the broker: the channel
    // is still open and works.
    const q2 = await freshQueue('pg-after');
    await ch.checkQueue(q2);
    assert.equal(channelError, undefined);
    await ch.close();
  });
});
