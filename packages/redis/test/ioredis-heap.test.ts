// The ioredis adapter against a stalled server (a proxy that stops reading): 10,000 SETs of 100 KB
// under a 50 ms deadline must not stay in memory after the deadline, and nothing may be written
// after it. The deadline runs on a manual clock, so all 10,000 are queued before it fires however
// busy the machine is. Its own file, so the gigabyte it allocates stays out of the other tests'
// process.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { background, withTimeout } from '@ctxkit/core';
import { useManualClock } from '@ctxkit/testing';
import { Redis } from 'ioredis';
import { wrapRedis } from '../src/ioredis.js';
import { clientName, openTestRedis, waitFor } from './helpers.js';
import { startStallProxy } from './ioredis-proxy.js';

const url = await openTestRedis('@ctxkit/redis ioredis heap');
const NAME = clientName('ioredis-heap');
const P = `${NAME}:`;
const t = url === undefined ? test.skip : test;

interface Internals {
  commandQueue: { length: number };
  stream: { bytesWritten: number };
}
const internals = (c: Redis): Internals => c as unknown as Internals;

t('a slow server: 10,000 SETs of 100 KB under a 50 ms deadline — heap back to baseline, nothing written after the deadline', async () => {
  const proxy = await startStallProxy(url!);
  const admin = new Redis(url!);
  const c = new Redis({ host: '127.0.0.1', port: proxy.port, connectionName: NAME });
  c.on('error', () => {});
  const r = wrapRedis(c);
  after(async () => {
    await r.close();
    c.disconnect();
    admin.disconnect();
    await proxy.close();
  });
  await c.ping();
  const gc = (globalThis as { gc?: () => void }).gc!;
  assert.ok(gc, 'tests run with --expose-gc');
  const mem = () => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = mem();
  // The values exist only in the queued commands once sent: the queue is what holds them.
  const values: Buffer[] = [];
  for (let i = 0; i < 10_000; i++) values.push(Buffer.alloc(100 * 1024, i & 0xff));
  proxy.stall();
  const clock = useManualClock();
  after(() => clock.restore());
  const s = withTimeout(background(), 50);
  const sets: Array<Promise<unknown>> = [];
  for (let i = 0; i < 10_000; i++) sets.push(r.set(s.ctx, `${P}big:${i}`, values[i]!).catch((e: unknown) => e));
  values.length = 0;
  await clock.advance(50);
  clock.restore();
  const results = await Promise.all(sets);
  assert.deepEqual(
    results.filter((e) => e !== s.ctx.err),
    [],
    'every SET rejected with ctx.err',
  );
  const handed = internals(c).stream.bytesWritten;
  const grown = mem() - baseline;
  assert.ok(grown < 100 * 2 ** 20, `memory grew ${(grown / 2 ** 20).toFixed(1)} MB after the deadline (queued: 1000 MB)`);
  proxy.resume();
  await waitFor('written replies read', async () => (internals(c).commandQueue.length === 0 ? true : undefined), 30_000);
  assert.equal(await c.ping(), 'PONG');
  const ping = '*1\r\n$4\r\nping\r\n'.length;
  assert.equal(internals(c).stream.bytesWritten, handed + ping, 'nothing but the PING was handed to the socket after the deadline');
  await waitFor('the server got all of it', async () => (proxy.bytesFromClients === handed + ping ? true : undefined));
  const written = (await admin.keys(`${P}big:*`)).length;
  assert.ok(written < 200, `${written} SETs reached the server: only those in the socket before the deadline`);
  if (written > 0) await admin.del(...(await admin.keys(`${P}big:*`)));
  await proxy.close();
});
