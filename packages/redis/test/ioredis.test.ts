// The ioredis adapter against the machine's Redis: what a cancelled command does on the wire and
// on the server, before it is written, after it is written, and while it blocks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { background, DeadlineExceededError, isContextError, withCancel, withTimeout } from '@ctxkit/core';
import { expectCanceled, leakCheckAfterAll, useManualClock } from '@ctxkit/testing';
import { Redis, type RedisOptions } from 'ioredis';
import { ExecOutcomeUnknownError, type IoredisRedis, wrapRedis } from '../src/ioredis.js';
import { clientName, openTestRedis, waitFor } from './helpers.js';
import { type StallProxy, startStallProxy } from './ioredis-proxy.js';

const url = await openTestRedis('@ctxkit/redis ioredis');
const NAME = clientName('ioredis');
const P = `${NAME}:`; // key prefix of this file
const opened: Redis[] = [];
const wrapped: IoredisRedis[] = [];
let admin: Redis;

interface Internals {
  commandQueue: { length: number };
  offlineQueue: { length: number };
  stream: { bytesWritten: number; writableLength: number };
}
const internals = (c: Redis): Internals => c as unknown as Internals;

function open(opts: RedisOptions = {}, tag = 'main'): Redis {
  const c = new Redis(url!, { connectionName: `${NAME}-${tag}`, ...opts });
  c.on('error', () => {});
  opened.push(c);
  return c;
}
function wrap(c: Redis, options?: Parameters<typeof wrapRedis>[1]): IoredisRedis {
  const r = wrapRedis(c, options);
  wrapped.push(r);
  return r;
}
async function ours(): Promise<Array<Record<string, string>>> {
  const list = String(await admin.client('LIST'));
  return list
    .split('\n')
    .filter((l) => l.includes(` name=${NAME}`))
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('=', 2) as [string, string])));
}
async function viaProxy(proxy: StallProxy, tag: string, opts: object = {}): Promise<Redis> {
  const c = new Redis({ host: '127.0.0.1', port: proxy.port, connectionName: `${NAME}-${tag}`, ...opts });
  c.on('error', () => {});
  opened.push(c);
  await c.ping();
  return c;
}

before(() => {
  if (url !== undefined) admin = open({}, 'admin');
});
after(async () => {
  if (url === undefined) return;
  for (const r of wrapped) await r.close();
  const keys = await admin.keys(`${P}*`);
  if (keys.length > 0) await admin.del(...keys);
  for (const c of opened) c.disconnect();
});
leakCheckAfterAll(after);

const t = url === undefined ? test.skip : test;

t('commands are ioredis commands, context first; replies as ioredis gives them', async () => {
  const r = wrap(open());
  const ctx = background();
  assert.equal(await r.set(ctx, `${P}a`, 'v', 'EX', 60), 'OK');
  assert.equal(await r.get(ctx, `${P}a`), 'v');
  assert.deepEqual(await r.getBuffer(ctx, `${P}a`), Buffer.from('v'));
  await r.hset(ctx, `${P}h`, { f: '1' });
  assert.deepEqual(await r.hgetall(ctx, `${P}h`), { f: '1' });
  assert.equal(await r.call(ctx, 'STRLEN', `${P}a`), 1);
  assert.deepEqual(
    await r.pipeline(ctx, (p) => {
      p.incr(`${P}n`);
      p.incr(`${P}n`);
    }),
    [
      [null, 1],
      [null, 2],
    ],
  );
  assert.throws(() => (r.get as (...a: unknown[]) => unknown)(ctx, `${P}a`, () => {}), /callbacks are not supported/);
  assert.throws(() => wrapRedis({} as never), /client must be an ioredis Redis instance/);
});

t('an ended context rejects with ctx.err and writes nothing', async () => {
  const proxy = await startStallProxy(url!);
  const c = await viaProxy(proxy, 'ended');
  const r = wrap(c);
  const before = proxy.bytesFromClients;
  const s = withCancel(background());
  s.cancel();
  await expectCanceled(r.set(s.ctx, `${P}ended`, 'x'), s.ctx);
  await expectCanceled(r.blpop(s.ctx, `${P}q`, 0), s.ctx);
  await expectCanceled(
    r.multi(s.ctx, (m) => m.set(`${P}ended`, 'x')),
    s.ctx,
  );
  await expectCanceled(r.blocking(s.ctx).brpop(`${P}q`, 0), s.ctx);
  assert.equal(await c.ping(), 'PONG');
  assert.equal(await admin.exists(`${P}ended`), 0);
  // Only the PING above crossed the wire.
  assert.equal(proxy.bytesFromClients - before, '*1\r\n$4\r\nping\r\n'.length);
  await proxy.close();
});

t('a budget below minBudgetMs fails as a deadline error without touching the network', async () => {
  const proxy = await startStallProxy(url!);
  const c = await viaProxy(proxy, 'floor');
  const r = wrap(c, { minBudgetMs: 1000 });
  const before = proxy.bytesFromClients;
  const s = withTimeout(background(), 500);
  const e = await r.get(s.ctx, `${P}a`).catch((x: unknown) => x);
  assert.ok(e instanceof DeadlineExceededError && isContextError(e), String(e));
  assert.match((e as Error).message, /below minBudgetMs/);
  await assert.rejects(r.blocking(s.ctx).blpop(`${P}q`, 0), (x: unknown) => x instanceof DeadlineExceededError);
  s.cancel();
  assert.equal(proxy.bytesFromClients, before);
  await proxy.close();
});

t('cancelled before it is written (not connected yet): taken out of the offline queue, never sent', async () => {
  const c = open({ lazyConnect: true }, 'offline');
  const r = wrap(c);
  const s = withCancel(background());
  const set = r.set(s.ctx, `${P}offline`, 'x');
  const m = r.multi(s.ctx, (tx) => {
    tx.set(`${P}offline-tx`, 'x');
  });
  const kept = r.incr(background(), `${P}offline-n`);
  assert.equal(internals(c).offlineQueue.length, 1 + 3 + 1, 'SET, MULTI/SET/EXEC and INCR wait offline');
  s.cancel();
  assert.equal(internals(c).offlineQueue.length, 1, 'only the live INCR is left');
  await expectCanceled(set, s.ctx);
  await expectCanceled(m, s.ctx);
  assert.equal(await kept, 1);
  assert.equal(await admin.exists(`${P}offline`, `${P}offline-tx`), 0);
});

t('cancelled after it is written: rejects at once, the reply is read and discarded, order kept', async () => {
  const proxy = await startStallProxy(url!);
  const c = await viaProxy(proxy, 'written');
  const r = wrap(c);
  proxy.stall();
  const s = withCancel(background());
  const cancelled = r.get(s.ctx, `${P}w1`);
  const live = r.echo(background(), 'mine');
  assert.equal(internals(c).commandQueue.length, 2, 'both are written');
  s.cancel();
  await expectCanceled(cancelled, s.ctx);
  proxy.resume();
  assert.equal(await live, 'mine', 'the next command gets its own reply');
  assert.equal(internals(c).commandQueue.length, 0);
  assert.equal((r as unknown as { sender: { owedCount: number } }).sender.owedCount, 0, 'nothing kept after the reply');
  await proxy.close();
});

t('a transaction cancelled after EXEC was written: ExecOutcomeUnknownError, and it did apply', async () => {
  const proxy = await startStallProxy(url!);
  const c = await viaProxy(proxy, 'exec');
  const r = wrap(c);
  proxy.stall();
  const s = withCancel(background());
  const m = r.multi(s.ctx, (tx) => {
    tx.set(`${P}tx`, '1');
  });
  await waitFor('EXEC written', async () => (internals(c).commandQueue.length === 3 ? true : undefined));
  s.cancel();
  const e = await m.catch((x: unknown) => x);
  assert.ok(e instanceof ExecOutcomeUnknownError, String(e));
  assert.equal(e.cause, s.ctx.err);
  proxy.resume();
  assert.equal(await c.get(`${P}tx`), '1', 'outcome unknown locally; here it applied');
  await proxy.close();
});

t('an async transaction builder cancelled before EXEC leaves no key written', async () => {
  const r = wrap(open());
  const s = withCancel(background());
  let building: (() => void) | undefined;
  const m = r.multi(s.ctx, async (tx) => {
    tx.set(`${P}tx-async`, '1');
    await new Promise<void>((resolve) => (building = resolve));
    tx.set(`${P}tx-async2`, '1');
  });
  await waitFor('builder running', async () => (building ? true : undefined));
  s.cancel();
  await expectCanceled(m, s.ctx);
  building!();
  assert.equal(await admin.exists(`${P}tx-async`, `${P}tx-async2`), 0);
});

t('a connection lost after a cancelled command was written: it is not re-sent on reconnect', async () => {
  const proxy = await startStallProxy(url!);
  const c = await viaProxy(proxy, 'resend');
  const r = wrap(c);
  proxy.stall();
  const s = withCancel(background());
  const cancelled = r.set(s.ctx, `${P}resend-cancelled`, 'x');
  const live = r.set(background(), `${P}resend-live`, 'x');
  s.cancel();
  await expectCanceled(cancelled, s.ctx);
  proxy.dropAll();
  proxy.resume();
  assert.equal(await live, 'OK', 'the live command is re-sent after the reconnect');
  assert.equal(await admin.exists(`${P}resend-cancelled`), 0, 'the cancelled one is not');
  assert.equal(await admin.exists(`${P}resend-live`), 1);
  await proxy.close();
});

t('1,000 concurrent commands with random cancels: each survivor gets its own reply, each cancelled one ctx.err', async () => {
  const r = wrap(open({}, 'storm'));
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const calls: Array<Promise<void>> = [];
  let cancelled = 0;
  let replied = 0;
  for (let i = 0; i < 1000; i++) {
    const s = withCancel(background());
    const value = `v${i}`;
    const kind = i % 3;
    const p =
      kind === 0
        ? r.echo(s.ctx, value)
        : kind === 1
          ? r
              .pipeline(s.ctx, (pl) => {
                pl.echo(value);
              })
              .then((res) => res?.[0]?.[1])
          : r.call(s.ctx, 'ECHO', value);
    calls.push(
      p.then(
        (v) => {
          assert.equal(v, value, `call ${i} got another call's reply`);
          replied++;
          s.cancel();
        },
        (e: unknown) => {
          assert.equal(e, s.ctx.err, `call ${i} rejected with ${String(e)}`);
          cancelled++;
        },
      ),
    );
    const when = rand();
    if (when < 0.2) s.cancel();
    else if (when < 0.4) queueMicrotask(() => s.cancel());
    else if (when < 0.6) setImmediate(() => s.cancel());
    else if (when < 0.7) setTimeout(() => s.cancel(), 1);
  }
  await Promise.all(calls);
  assert.ok(cancelled >= 200 && replied >= 300, `cancelled ${cancelled}, replied ${replied}`);
  assert.equal(await r.echo(background(), 'after'), 'after', 'the connection is in sync');
  assert.equal((r as unknown as { sender: { owedCount: number } }).sender.owedCount, 0);
});

t('a blocked BLPOP is unblocked on the server when its context ends; the connection is reused', async () => {
  const r = wrap(open({}, 'blocking'));
  const blockedOnes = async () => (await ours()).filter((c) => c['name']?.endsWith(':blocking') && c['flags']?.includes('b'));
  const s = withCancel(background());
  const pop = r.blocking(s.ctx).blpop(`${P}q`, 0);
  const [blocked] = await waitFor('BLPOP blocked on the server', async () =>
    (await blockedOnes()).length === 1 ? blockedOnes() : undefined,
  );
  assert.equal(blocked!['cmd'], 'blpop');
  s.cancel();
  await expectCanceled(pop, s.ctx);
  await waitFor('no connection of ours blocked', async () => ((await blockedOnes()).length === 0 ? true : undefined));
  // Called directly on r, it takes the same path — on the same (healthy, reused) connection.
  await admin.rpush(`${P}q`, 'job');
  assert.deepEqual(await r.blpop(background(), `${P}q`, 0), [`${P}q`, 'job']);
  const conns = (await ours()).filter((c) => c['name']?.endsWith(':blocking'));
  assert.equal(conns.length, 1, 'one pooled connection served both');
  assert.equal(conns[0]!['id'], blocked!['id']);
});

t('a deadline clamps the server-side timeout and unblocks at the deadline', async () => {
  const r = wrap(open({}, 'clamp'));
  const s = withTimeout(background(), 150);
  const e = await r.call(s.ctx, 'BLPOP', `${P}q2`, 0).catch((x: unknown) => x);
  assert.equal(e, s.ctx.err);
  assert.ok(e instanceof DeadlineExceededError);
  await waitFor('unblocked', async () =>
    (await ours()).some((c) => c['name'] === `${NAME}-clamp:blocking` && c['flags']?.includes('b')) ? undefined : true,
  );
});

t('a blocking connection killed mid-command: a clear error, and the next call works', async () => {
  const r = wrap(open({}, 'kill'));
  const pop = r.blocking(background()).blpop(`${P}q3`, 0);
  const victim = await waitFor('blocked', async () =>
    (await ours()).find((c) => c['name'] === `${NAME}-kill:blocking` && c['flags']?.includes('b')),
  );
  await admin.client('KILL', 'ID', victim['id']!);
  await assert.rejects(pop, /Connection is closed/);
  await admin.rpush(`${P}q3`, 'again');
  assert.deepEqual(await r.blocking(background()).blpop(`${P}q3`, 1), [`${P}q3`, 'again']);
});

t('the shared connection killed mid-command: ioredis reconnects and the command completes', async () => {
  const c = open({}, 'killmain');
  const r = wrap(c);
  await r.ping(background());
  const id = await c.client('ID');
  const proxyless = r.set(background(), `${P}km`, 'x');
  await admin.client('KILL', 'ID', String(id));
  assert.equal(await proxyless, 'OK');
  assert.equal(await r.get(background(), `${P}km`), 'x');
});

t('Redis errors pass through unchanged', async () => {
  const c = open();
  const r = wrap(c);
  await c.set(`${P}s`, 'text');
  const bare = await c.incr(`${P}s`).catch((e: unknown) => e);
  const mine = await r.incr(background(), `${P}s`).catch((e: unknown) => e);
  assert.equal((mine as Error).constructor, (bare as Error).constructor);
  assert.equal((mine as Error).message, (bare as Error).message);
  await assert.rejects(r.call(background(), 'NOSUCHCOMMAND'), /ERR unknown command/);
});

t('listeners and timers are gone once calls settle: nothing grows on a long-lived context', async () => {
  const c = open({}, 'listeners');
  const r = wrap(c);
  await r.ping(background());
  const stream = (c as unknown as { stream: import('node:net').Socket }).stream;
  const count = () => [c.listenerCount('close'), c.listenerCount('error'), stream.listenerCount('drain'), stream.listenerCount('close')];
  const baseline = count();
  const clock = useManualClock();
  try {
    const long = withCancel(background());
    for (let round = 0; round < 3; round++) {
      const batch: Array<Promise<unknown>> = [];
      for (let i = 0; i < 100; i++) batch.push(r.echo(long.ctx, `x${i}`));
      for (let i = 0; i < 20; i++) {
        const s = withCancel(long.ctx);
        batch.push(r.echo(s.ctx, 'gone').catch((e: unknown) => assert.equal(e, s.ctx.err)));
        s.cancel();
      }
      const b = withCancel(long.ctx);
      const pop = r.blocking(b.ctx).blpop(`${P}lq`, 0);
      await waitFor('blocked', async () =>
        (await ours()).some((x) => x['name'] === `${NAME}-listeners:blocking` && x['flags']?.includes('b')) ? true : undefined,
      );
      b.cancel();
      batch.push(pop.catch((e: unknown) => assert.equal(e, b.ctx.err)));
      await Promise.all(batch);
      // The connection comes back once its reply (nil) arrived; then the only timer left is its idle timeout.
      const pool = (r as unknown as { blockingSide: { pool: { inUse: number; size: number } } }).blockingSide.pool;
      await waitFor('blocking connection back in the pool', async () => (pool.inUse === 0 ? true : undefined));
      assert.equal(pool.size, 1, 'one connection served every round');
      assert.equal(clock.pending(), 1, 'no timer left but the idle connection’s');
      assert.deepEqual(count(), baseline, `round ${round}`);
    }
    assert.equal(long.ctx.err, undefined);
    long.cancel();
  } finally {
    clock.restore();
  }
});
