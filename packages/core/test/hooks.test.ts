import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { spawnSync } from 'node:child_process';
import {
  background,
  withCancel,
  withTimeout,
  withValue,
  withoutCancel,
  createKey,
  subscribe,
  startOperation,
  sleep,
  type Context,
  type ContextOrigin,
  type OperationInfo,
} from '@ctxkit/core';
import { runWith, current, currentOrUndefined, enableDiagnosticsChannel, channels } from '@ctxkit/core/node';
import { leakCheckAfterAll } from '@ctxkit/testing';

// Tests of cascading end parents on purpose without cancelling their children: not a leak here.
leakCheckAfterAll(after, { endedWithParent: false }); // no live context, lost cancel or zombie work

describe('lifecycle hooks', () => {
  test('created and ended events carry parent, kind and scope; descendants report their end', () => {
    const created: Array<[Context, Context | undefined, ContextOrigin, object | undefined]> = [];
    const ended: Context[] = [];
    const off = subscribe({
      contextCreated: (ctx, parent, kind, scope) => created.push([ctx, parent, kind, scope]),
      contextEnded: (ctx) => ended.push(ctx),
    });
    try {
      const root = withCancel(background());
      const v = withValue(root.ctx, createKey('k'), 1);
      const t = withTimeout(v, 1000);
      const d = withoutCancel(t.ctx);
      assert.deepEqual(
        created.map((c) => c[2]),
        ['cancel', 'value', 'timeout', 'withoutCancel'],
      );
      assert.equal(created[0]![3], root);
      assert.equal(created[2]![1], v);
      assert.equal(created[3]![3], undefined);
      root.cancel();
      assert.deepEqual(ended, [root.ctx, t.ctx]);
      void d;
    } finally {
      off();
    }
  });

  test('operations are reported started and settled, including work attempted on an ended ctx', async () => {
    const started: OperationInfo[] = [];
    const settled: Array<[OperationInfo, boolean]> = [];
    const off = subscribe({
      operationStarted: (op) => started.push(op),
      operationSettled: (op, failed) => settled.push([op, failed]),
    });
    try {
      const s = withCancel(background());
      const op = startOperation(s.ctx, 'custom');
      op.end();
      op.end(new Error('ignored: end runs once'));
      s.cancel();
      await sleep(s.ctx, 10).catch(() => {});
      assert.deepEqual(
        started.map((o) => o.label),
        ['custom', 'sleep'],
      );
      assert.equal(started[1]!.ctx.err, s.ctx.err, 'the explorer can see sleep was called on an ended ctx');
      assert.deepEqual(
        settled.map(([o, f]) => [o.label, f]),
        [
          ['custom', false],
          ['sleep', true],
        ],
      );
    } finally {
      off();
    }
  });

  test('without subscribers startOperation returns a shared no-op handle', () => {
    // in a fresh process: this file's own leak tracker is a subscriber
    const script = `
      const { background, startOperation } = await import('@ctxkit/core');
      console.log(startOperation(background(), 'x') === startOperation(background(), 'y'));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.stdout.trim(), 'true', r.stderr);
  });

  test('a throwing hook does not break cancel(); the error surfaces as an uncaught exception', () => {
    const script = `
      const { background, withCancel, subscribe } = await import('@ctxkit/core');
      subscribe({ contextEnded: () => { throw new Error('hook bug'); } });
      const s = withCancel(background());
      const child = withCancel(s.ctx);
      s.cancel();
      console.log('child ended:', child.ctx.err !== undefined);
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.match(r.stdout, /child ended: true/);
    assert.match(r.stderr, /hook bug/);
    assert.notEqual(r.status, 0);
  });
});

describe('@ctxkit/core/node', () => {
  test('runWith/current bind a context across async boundaries', async () => {
    const s = withCancel(background());
    assert.equal(currentOrUndefined(), undefined);
    assert.notEqual(current(), s.ctx);
    await runWith(s.ctx, async () => {
      await new Promise((r) => setImmediate(r));
      assert.equal(current(), s.ctx);
    });
    assert.throws(() => runWith({} as Context, () => 1), TypeError);
    s.cancel();
  });

  test('diagnostics_channel bridge publishes lifecycle events while enabled', () => {
    const seen: string[] = [];
    const onCreated = (m: unknown) => seen.push(`created:${(m as { origin: string }).origin}`);
    const onEnded = () => seen.push('ended');
    diagnostics_channel.subscribe(channels.contextCreated, onCreated);
    diagnostics_channel.subscribe(channels.contextEnded, onEnded);
    const disable = enableDiagnosticsChannel();
    try {
      withCancel(background()).cancel();
    } finally {
      disable();
      diagnostics_channel.unsubscribe(channels.contextCreated, onCreated);
      diagnostics_channel.unsubscribe(channels.contextEnded, onEnded);
    }
    withCancel(background()).cancel();
    assert.deepEqual(seen, ['created:cancel', 'ended']);
  });
});
