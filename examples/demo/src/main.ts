/**
 * `npm start`: runs the scenario (naive twin, then ctxkit twin) and prints the side-by-side
 * report. Exits 0 on success, 1 if the scenario itself failed. Options: --requests N, --seed N.
 */
import { parseArgs } from 'node:util';
import { runScenario } from './scenario.js';
import { formatReport } from './report.js';

const { values } = parseArgs({
  options: { requests: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' } },
});

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`demo: --${name} must be a positive integer, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return n;
}

const opts = {
  ...(num('requests', values.requests) !== undefined && { requests: num('requests', values.requests)! }),
  ...(num('seed', values.seed) !== undefined && { seed: num('seed', values.seed)! }),
  ...(num('concurrency', values.concurrency) !== undefined && { concurrency: num('concurrency', values.concurrency)! }),
};

console.error('running the naive twin, then the ctxkit twin (about 10 s)…');
try {
  const report = await runScenario(opts);
  process.stdout.write(formatReport(report));
} catch (e) {
  console.error('demo failed:', e);
  process.exitCode = 1;
}
