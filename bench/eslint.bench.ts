// Lint time of @ctxkit/eslint-plugin on this repository: typescript-eslint's
// recommendedTypeChecked alone vs. plus ctxkit.configs.recommended, each run in a fresh process
// (alternating order, so drift hits both), mean of ROUNDS runs each. Target: ratio ≤ 1.5.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../packages/eslint-plugin/scripts/lint-time.ts', import.meta.url));
const rounds = Number(process.env.ESLINT_BENCH_ROUNDS ?? 2);

interface Run {
  ms: number;
  cpuMs: number;
  ctxkitMs: number;
  files: number;
}

function once(mode: 'base' | 'ctxkit'): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, mode], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`lint-time ${mode} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Run;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const base: Run[] = [];
const withCtx: Run[] = [];
for (let i = 0; i < rounds; i++) {
  process.stderr.write(`eslint bench: round ${i + 1}/${rounds}\n`);
  if (i % 2 === 0) {
    base.push(once('base'));
    withCtx.push(once('ctxkit'));
  } else {
    withCtx.push(once('ctxkit'));
    base.push(once('base'));
  }
}
const files = withCtx[0]!.files;
const m = (runs: Run[], k: 'ms' | 'cpuMs' | 'ctxkitMs'): number => mean(runs.map((r) => r[k]));
const list = (runs: Run[], k: 'ms' | 'cpuMs'): string => runs.map((r) => r[k].toFixed(0)).join(', ');
const own = m(withCtx, 'ctxkitMs');
process.stdout.write(`## ESLint plugin lint time

Linting this repository's \`packages/*/src\` (${files} files) with type information, each run in a
fresh process (order alternating), mean of ${rounds} runs each; times are \`lintFiles\` only.
CPU time (user + system of the linting process) is the figure the target is judged on: wall time
on this shared 2-core machine swings with whatever else runs. The ctxkit rules' own time comes
from ESLint's per-rule statistics in the same runs (the first type-aware rule of a file pays for
type checking that later rules reuse, so it is an upper bound).

| configuration | CPU ms (mean) | wall ms (mean) | CPU runs | wall runs |
|---|---:|---:|---|---|
| typescript-eslint \`recommendedTypeChecked\` | ${m(base, 'cpuMs').toFixed(0)} | ${m(base, 'ms').toFixed(0)} | ${list(base, 'cpuMs')} | ${list(base, 'ms')} |
| + \`ctxkit.configs.recommended\` | ${m(withCtx, 'cpuMs').toFixed(0)} | ${m(withCtx, 'ms').toFixed(0)} | ${list(withCtx, 'cpuMs')} | ${list(withCtx, 'ms')} |
| **ratio** (target ≤ 1.5) | **${(m(withCtx, 'cpuMs') / m(base, 'cpuMs')).toFixed(2)}×** | ${(m(withCtx, 'ms') / m(base, 'ms')).toFixed(2)}× | | |

The nine ctxkit rules' own time: ${own.toFixed(0)} ms per run (${((100 * own) / m(withCtx, 'ms')).toFixed(1)}% of the wall time of the run).
`);
