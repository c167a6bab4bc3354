// Shared by the @ctxkit/amqp test files: the machine's RabbitMQ (AMQP_URL overrides
// amqp://guest:guest@127.0.0.1:5672), unique queue names per file, a bounded poll of broker and
// server state — never a blind sleep.
import { randomBytes } from 'node:crypto';
import amqp, { type Channel, type ChannelModel } from 'amqplib';

/** The broker URL the tests use. */
export const AMQP_URL = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

/**
 * A connection for `suite`, or undefined (after a loud line on stderr) when no broker answers
 * locally. Under CI=true a missing broker throws, so the suite fails instead of skipping.
 */
export async function openTestAmqp(suite: string): Promise<ChannelModel | undefined> {
  try {
    const conn = await amqp.connect(AMQP_URL, { timeout: 3000 });
    conn.on('error', () => {}); // connections killed by tests
    return conn;
  } catch (e) {
    if (process.env['CI'] === 'true') throw new Error(`${suite}: RabbitMQ at ${AMQP_URL} is required under CI=true`, { cause: e });
    process.stderr.write(`\n!!!!!!!! ${suite}: SKIPPED — no RabbitMQ at ${AMQP_URL}: ${e instanceof Error ? e.message : String(e)}\n\n`);
    return undefined;
  }
}

/** Another connection to the same broker (errors of killed connections are swallowed). */
export async function connect(): Promise<ChannelModel> {
  const conn = await amqp.connect(AMQP_URL);
  conn.on('error', () => {});
  return conn;
}

/** A unique queue name for one test. */
export function queueName(tag: string): string {
  return `ctxkit-amqp-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Messages ready in `queue` as the broker counts them (unacked ones excluded). */
export async function depth(ch: Channel, queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

/** A queue with a dead-letter queue behind it (default exchange, routing key = the DLQ's name). */
export async function queueWithDlq(ch: Channel, tag: string, args: Record<string, unknown> = {}): Promise<{ queue: string; dlq: string }> {
  const queue = queueName(tag);
  const dlq = `${queue}-dlq`;
  await ch.assertQueue(dlq, { durable: false, autoDelete: false });
  await ch.assertQueue(queue, {
    durable: args['x-queue-type'] === 'quorum',
    autoDelete: false,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq, ...args },
  });
  return { queue, dlq };
}
