// Child process 2 of the cross-process test: consumes the queue named in argv[2] and runs
// `SELECT pg_sleep(30)` through @ctxkit/pg (application_name argv[3]) for each message, with the
// message's context. Prints {"ready": true}, then per message what its context had and how it ended.
import { cause, isDeadlineExceeded } from '@ctxkit/core';
import { wrapPool } from '@ctxkit/pg';
import amqp from 'amqplib';
import pg from 'pg';
import { consume } from '@ctxkit/amqp';

const [queue, app, databaseUrl] = process.argv.slice(2) as [string, string, string];
const pool = new pg.Pool({ connectionString: databaseUrl, application_name: app, max: 2 });
pool.on('error', () => {});
const db = wrapPool(pool);
const conn = await amqp.connect(process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');
const channel = await conn.createChannel();
await consume(channel, queue, async (ctx) => {
  const budget = ctx.deadline === undefined ? null : ctx.deadline - Date.now();
  try {
    await db.query(ctx, 'SELECT pg_sleep(30)');
  } catch (e) {
    process.stdout.write(
      `${JSON.stringify({ budget, deadline: isDeadlineExceeded(ctx.err), rejectedWithCtxErr: e === ctx.err, cause: String(cause(ctx)) })}\n`,
    );
    throw e;
  }
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.stdin.on('end', () => {
  void conn.close().then(() => pool.end());
});
process.stdin.resume();
