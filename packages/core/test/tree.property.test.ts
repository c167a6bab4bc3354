// Property-based test of the tree invariants: random sequences of creations, cancels and clock
// advances, checked against a simple model after every step.
import { test, beforeEach, afterEach, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  background,
  withCancel,
  withTimeout,
  withValue,
  withoutCancel,
  createKey,
  cause,
  CanceledError,
  DeadlineExceededError,
  type CancelScope,
  type Context,
} from '@ctxkit/core';
import { linkedChildren, pendingDeadlines } from '@ctxkit/core/diagnostics';
import { fakeClock, type FakeClock } from './fake-clock.js';
import { leakCheckAfterAll } from '@ctxkit/testing';

leakCheckAfterAll(after); // every test in this file must leave no live context, lost cancel or zombie work

type Kind = 'cancel' | 'timeout' | 'value' | 'detached';
interface ModelNode {
  ctx: Context;
  scope?: CancelScope;
  kind: Kind;
  parent: number; // -1 = background
  ownDeadline?: number;
  ended?: { by: number; deadline: boolean };
  cancelable: boolean;
}

const op = fc.oneof(
  fc.record({
    t: fc.constant('create' as const),
    parent: fc.nat(),
    kind: fc.constantFrom<Kind>('cancel', 'timeout', 'value', 'detached'),
    ms: fc.integer({ min: -5, max: 60 }),
  }),
  fc.record({ t: fc.constant('cancel' as const), node: fc.nat() }),
  fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 30 }) }),
);

let clock: FakeClock;
beforeEach(() => {
  clock = fakeClock();
});
afterEach(() => {
  clock.restore();
});

test('tree invariants hold under random create/cancel/advance sequences', () => {
  const key = createKey<number>('depth');
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      const nodes: ModelNode[] = [];
      // nearest cancelable ancestor-or-self index (-1 = none: background or across withoutCancel)
      const canceler = (i: number): number => {
        for (let j = i; j >= 0; j = nodes[j]!.parent) {
          if (nodes[j]!.kind === 'detached') return -1;
          if (nodes[j]!.cancelable) return j;
        }
        return -1;
      };
      const effDeadline = (i: number): number | undefined => {
        let d: number | undefined;
        for (let j = i; j >= 0; j = nodes[j]!.parent) {
          if (nodes[j]!.kind === 'detached') break;
          const o = nodes[j]!.ownDeadline;
          if (o !== undefined && (d === undefined || o < d)) d = o;
        }
        return d;
      };
      const endSubtree = (root: number, deadline: boolean) => {
        // every node whose nearest-canceler chain reaches root without crossing a detached node
        for (let i = 0; i < nodes.length; i++) {
          const n = nodes[i]!;
          if (!n.cancelable || n.ended) continue;
          for (let j = i; j >= 0; j = nodes[j]!.parent) {
            if (j === root) {
              n.ended = { by: root, deadline };
              break;
            }
            if (nodes[j]!.kind === 'detached') break;
          }
        }
      };
      const fireDeadlines = () => {
        for (;;) {
          let best = -1;
          for (let i = 0; i < nodes.length; i++) {
            const n = nodes[i]!;
            if (n.ended || n.ownDeadline === undefined || n.ownDeadline > clock.now()) continue;
            if (best < 0 || n.ownDeadline < nodes[best]!.ownDeadline!) best = i;
          }
          if (best < 0) return;
          endSubtree(best, true);
        }
      };
      for (const o of ops) {
        if (o.t === 'create') {
          const parent = nodes.length === 0 ? -1 : (o.parent % (nodes.length + 1)) - 1;
          const pctx = parent < 0 ? background() : nodes[parent]!.ctx;
          const pc = parent < 0 ? -1 : canceler(parent);
          const parentEnded = pc >= 0 && nodes[pc]!.ended;
          if (o.kind === 'value') {
            nodes.push({ ctx: withValue(pctx, key, nodes.length), kind: 'value', parent, cancelable: false });
          } else if (o.kind === 'detached') {
            nodes.push({ ctx: withoutCancel(pctx), kind: 'detached', parent, cancelable: false });
          } else {
            const scope = o.kind === 'timeout' ? withTimeout(pctx, o.ms) : withCancel(pctx);
            const inherited = parent < 0 ? undefined : effDeadline(parent);
            const own = o.kind === 'timeout' ? clock.now() + o.ms : undefined;
            const n: ModelNode = { ctx: scope.ctx, scope, kind: o.kind, parent, cancelable: true };
            if (own !== undefined && (inherited === undefined || own < inherited)) n.ownDeadline = own;
            nodes.push(n);
            if (parentEnded) n.ended = { ...nodes[pc]!.ended! };
            else if (n.ownDeadline !== undefined && n.ownDeadline <= clock.now()) n.ended = { by: nodes.length - 1, deadline: true };
          }
        } else if (o.t === 'cancel') {
          if (nodes.length === 0) continue;
          const i = o.node % nodes.length;
          const n = nodes[i]!;
          if (!n.scope) continue;
          n.scope.cancel(`cause-${i}`);
          if (!n.ended) endSubtree(i, false);
        } else {
          clock.tick(o.ms);
          fireDeadlines();
        }
        // invariants
        let livesWithOwnTimer = 0;
        for (let i = 0; i < nodes.length; i++) {
          const n = nodes[i]!;
          const c = canceler(i);
          const expected = c >= 0 ? nodes[c]!.ended : undefined;
          if (!expected) {
            assert.equal(n.ctx.err, undefined, `node ${i} should be live`);
            if (n.cancelable && n.ownDeadline !== undefined) livesWithOwnTimer++;
          } else {
            const err = n.ctx.err;
            assert.ok(expected.deadline ? err instanceof DeadlineExceededError : err instanceof CanceledError, `node ${i} kind`);
            assert.equal(err, nodes[expected.by]!.ctx.err, `node ${i} shares the error of the node that ended it`);
            assert.equal(cause(n.ctx), expected.deadline ? err : `cause-${expected.by}`);
            if (n.cancelable) assert.equal(linkedChildren(n.ctx), 0, `ended node ${i} holds no children`);
          }
          assert.equal(n.ctx.deadline, c >= 0 ? effDeadline(i) : undefined, `node ${i} deadline`);
          if (n.kind === 'value') assert.equal(n.ctx.value(key), i);
          if (n.cancelable && !n.ended) {
            const liveKids = nodes.filter(
              (m, j) =>
                m.cancelable &&
                !m.ended &&
                m.parent >= -1 &&
                j !== i &&
                (() => {
                  for (let k = m.parent; k >= 0; k = nodes[k]!.parent) {
                    if (nodes[k]!.kind === 'detached') return false;
                    if (nodes[k]!.cancelable) return k === i;
                  }
                  return false;
                })(),
            ).length;
            assert.equal(linkedChildren(n.ctx), liveKids, `live node ${i} links exactly its live children`);
          }
        }
        assert.equal(pendingDeadlines(), livesWithOwnTimer, 'exactly the live nodes with an own deadline are queued');
      }
      for (const n of nodes) n.scope?.cancel();
      assert.equal(pendingDeadlines(), 0);
    }),
    { numRuns: 300 },
  );
});
