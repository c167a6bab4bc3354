// npm run bench -- testing: what the leak tracker costs the code under test. Prints one Markdown
// section on stdout; progress on stderr.
import { background, sleep, withCancel, type Context } from '@ctxkit/core';
import { exploreCancellation, trackContexts } from '@ctxkit/testing';
import { median } from './lib.js';

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function fmt(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

/** Median ns per op of `run(n)`, over interleaved rounds with set-up/tear-down around each. */
function measure(
  cases: Array<{ name: string; setup?: () => () => void; run: (n: number) => void }>,
  n: number,
  rounds = 7,
): Map<string, number> {
  const out = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (const c of cases) {
    const teardown = c.setup?.();
    c.run(Math.floor(n / 10));
    teardown?.();
  }
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const teardown = c.setup?.();
      gc();
      const t0 = process.hrtime.bigint();
      c.run(n);
      const t1 = process.hrtime.bigint();
      teardown?.();
      out.get(c.name)!.push(Number(t1 - t0) / n);
    }
  }
  return new Map([...out].map(([k, v]) => [k, median(v)]));
}

const parent = withCancel(background());
const createCancel = (n: number): void => {
  for (let i = 0; i < n; i++) withCancel(parent.ctx).cancel();
};
const tracked = (stacks: boolean) => () => {
  const t = trackContexts({ stacks });
  return () => t.stop();
};

process.stderr.write('  create + cancel a child context…\n');
const N = 50_000;
const r1 = measure(
  [
    {
      name: 'AbortController + abort (platform)',
      run(n) {
        for (let i = 0; i < n; i++) new AbortController().abort();
      },
    },
    { name: 'withCancel + cancel, nobody tracking', run: createCancel },
    { name: 'withCancel + cancel, tracker without stacks', setup: tracked(false), run: createCancel },
    { name: 'withCancel + cancel, tracker with stacks (default)', setup: tracked(true), run: createCancel },
  ],
  N,
);

process.stderr.write('  explorer…\n');
async function tenSleeps(ctx: Context): Promise<void> {
  for (let i = 0; i < 10; i++) await sleep(ctx, 0);
}
const exploreTimes: number[] = [];
let points = 0;
for (let r = 0; r < 5; r++) {
  const t0 = process.hrtime.bigint();
  const res = await exploreCancellation(tenSleeps);
  exploreTimes.push(Number(process.hrtime.bigint() - t0));
  points = res.points;
}
parent.cancel();

const base = r1.get('AbortController + abort (platform)')!;
const rows = [...r1].map(
  ([name, ns]) => `| ${name} | ${fmt(ns)} | ${ns / base >= 0.1 ? (ns / base).toFixed(2) : (ns / base).toPrecision(2)}× |`,
);
const explore = median(exploreTimes);
process.stdout.write(`## @ctxkit/testing

What tracking costs the code under test: creating and cancelling one child of a live context,
${N.toLocaleString('en')} times per round, median of 7 interleaved rounds. Stacks are captured only while a
tracker runs; with nobody tracking, core's hooks cost one boolean check.

| Operation | Time per op | vs AbortController |
|---|---|---|
${rows.join('\n')}

Explorer: \`exploreCancellation\` of a function making ${points} \`sleep(ctx, 0)\` points (${points + 1} runs,
real clock): ${fmt(explore)} per exploration, ${fmt(explore / (points + 1))} per run (median of 5).
`);
