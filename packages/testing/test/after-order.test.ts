// leakCheckAfterAll as users run it: a real `node --test` child on a fixture file, in both hook
// orders, without and with --expose-gc, asserting on the runner's output and exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/after-order.fixture.ts', import.meta.url));

interface Run {
  readonly code: number | null;
  readonly out: string;
}

function runFixture(env: { ORDER: string; LEAKY: string }, gc: boolean): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT; // else the child reports to this runner instead of printing
  const args = ['--conditions=source', '--import', 'tsx', ...(gc ? ['--expose-gc'] : []), '--test', '--test-reporter=tap', FIXTURE];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

const ORDERS = ['shutdown-first', 'check-first'] as const;
const MODES = [false, true] as const;

for (const ORDER of ORDERS) {
  for (const gc of MODES) {
    const how = `${ORDER}${gc ? ', --expose-gc' : ''}`;

    test(`leaks are reported with the shutdown hook ${ORDER === 'shutdown-first' ? 'before' : 'after'} the check (${how})`, async () => {
      const { code, out } = await runFixture({ ORDER, LEAKY: '1' }, gc);
      assert.equal(code, 1, out);
      assert.match(out, /^ok 1 - the code under test$/m, out);
      // The failing entry is the user's file, at the line of its leakCheckAfterAll call.
      assert.match(out, /^not ok 2 - .*after-order\.fixture\.ts$/m, out);
      assert.match(out, /location: '.*after-order\.fixture\.ts:\d+:\d+'/, out);
      assert.doesNotMatch(out, /not ok \d+ - .*tracker\.ts/, out);
      assert.match(out, /@ctxkit\/testing: 3 leaks found/, out);
      // The request deadline never cancelled: still live at the check, or ended only by the shutdown.
      const unCancelled = ORDER === 'shutdown-first' ? 'never cancelled: made by' : 'live context: made by';
      assert.match(out, new RegExp(`\\d\\) ${unCancelled} withTimeout`), out);
      assert.match(out, /at requestWithoutCancel .*after-order\.fixture\.ts/, out);
      // The dropped scope: found by the garbage collector when it is exposed. Without
      // --expose-gc a natural collection may still find it first (Node 26 does within the 400 ms),
      // else it is reported like the deadline above; either way it is reported once.
      const lost = /\d\) lost cancel: the scope from withCancel was garbage-collected without cancel\(\)/;
      if (gc) assert.match(out, lost, out);
      else assert.match(out, new RegExp(`${lost.source}|\\d\\) ${unCancelled} withCancel`), out);
      assert.match(out, /at dropScope .*after-order\.fixture\.ts/, out);
      assert.match(out, /zombie work: 'slow upload' ran \d+ ms after its context ended before it settled/, out);
    });

    test(`a clean file passes (${how})`, async () => {
      const { code, out } = await runFixture({ ORDER, LEAKY: '0' }, gc);
      assert.equal(code, 0, out);
      assert.match(out, /^# fail 0$/m, out);
    });
  }
}
