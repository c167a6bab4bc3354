// Child process 1 of the cross-process test: an HTTP service that publishes each request's work
// to the queue named in argv[2] with the request's context (its budget from the caller's header).
// Prints {"port": n} once listening.
import { createServer } from 'node:http';
import { contextHandler } from '@ctxkit/http';
import amqp from 'amqplib';
import { publish } from '@ctxkit/amqp';

const queue = process.argv[2]!;
const conn = await amqp.connect(process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672');
const channel = await conn.createConfirmChannel();
const server = createServer(
  contextHandler(async (ctx, _req, res) => {
    await publish(ctx, channel, '', queue, 'work');
    res.end('queued');
  }),
);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
process.stdin.on('end', () => {
  server.close();
  void conn.close();
});
process.stdin.resume();
