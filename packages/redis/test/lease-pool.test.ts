// The blocking-connection pool's accounting with fake connections: one caller per connection,
// waiters that leave when their context ends, failures that free their slot, nothing left open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { background, CanceledError, withCancel } from '@ctxkit/core';
import { LeasePool } from '../src/lease-pool.js';

interface Conn {
  id: number;
  closed: boolean;
}

function fakePool(max: number, opts: { fail?: () => boolean; manual?: boolean } = {}) {
  let next = 1;
  const made: Conn[] = [];
  const gates: Array<() => void> = [];
  const pool = new LeasePool<Conn>(
    max,
    {
      create: async () => {
        if (opts.manual) await new Promise<void>((r) => gates.push(r));
        if (opts.fail?.()) throw new Error('connect ECONNREFUSED');
        const c = { id: next++, closed: false };
        made.push(c);
        return c;
      },
      destroy: (c) => {
        c.closed = true;
      },
    },
    'redis blocking',
  );
  return { pool, made, openGate: () => gates.shift()?.() };
}

test('a released connection is reused; the pool never makes more than max', async () => {
  const { pool, made } = fakePool(2);
  const a = await pool.acquire(background());
  const b = await pool.acquire(background());
  const third = pool.acquire(background());
  assert.equal(pool.pending, 1);
  pool.release(a);
  assert.equal(await third, a);
  assert.equal(made.length, 2);
  pool.release(a);
  pool.release(b);
  assert.equal(pool.inUse, 0);
  await pool.close();
  assert.ok(
    made.every((c) => c.closed),
    'close() closes idle connections',
  );
});

test('an ended context rejects at once and makes nothing', async () => {
  const { pool, made } = fakePool(1);
  const s = withCancel(background());
  s.cancel();
  await assert.rejects(pool.acquire(s.ctx), CanceledError);
  assert.equal(made.length, 0);
  await pool.close();
});

test('a waiter whose context ends leaves the queue; the next one gets the connection', async () => {
  const { pool } = fakePool(1);
  const a = await pool.acquire(background());
  const leaving = withCancel(background());
  const p1 = pool.acquire(leaving.ctx);
  const p2 = pool.acquire(background());
  leaving.cancel();
  await assert.rejects(p1, CanceledError);
  assert.equal(pool.pending, 1);
  pool.release(a);
  assert.equal(await p2, a);
  pool.release(a);
  await pool.close();
});

test('a connection made for a caller who left is kept for the next caller', async () => {
  const { pool, made, openGate } = fakePool(1, { manual: true });
  const s = withCancel(background());
  const p = pool.acquire(s.ctx);
  s.cancel();
  await assert.rejects(p, CanceledError);
  openGate();
  const next = pool.acquire(background());
  assert.equal(await next, made[0]);
  assert.equal(made.length, 1);
  pool.release(made[0]!);
  await pool.close();
});

test('a failed connect rejects its caller with the error and frees the slot', async () => {
  let failures = 1;
  const { pool } = fakePool(1, { fail: () => failures-- > 0 });
  await assert.rejects(pool.acquire(background()), /ECONNREFUSED/);
  assert.equal(pool.size, 0);
  const c = await pool.acquire(background());
  assert.equal(c.closed, false);
  pool.release(c);
  await pool.close();
});

test('a discarded connection is closed and a waiter gets a new one', async () => {
  const { pool, made } = fakePool(1);
  const a = await pool.acquire(background());
  const waiting = pool.acquire(background());
  pool.discard(a);
  assert.equal(a.closed, true);
  const b = await waiting;
  assert.notEqual(b, a);
  assert.equal(made.length, 2);
  pool.release(b);
  await pool.close();
});

test('close() rejects waiters and later acquires; leased connections close when given back', async () => {
  const { pool } = fakePool(1);
  const a = await pool.acquire(background());
  const waiting = pool.acquire(background());
  await pool.close();
  await assert.rejects(waiting, /redis blocking: the connection pool is closed/);
  await assert.rejects(pool.acquire(background()), /the connection pool is closed/);
  pool.release(a);
  assert.equal(a.closed, true);
});
