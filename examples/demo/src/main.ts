/**
 * `npm start`: runs the scenario (naive twin, then ctxkit twin) and prints the side-by-side
 * report on stdout (progress on stderr). Exits 0 on success, 1 if the scenario itself failed,
 * 2 on bad options.
 *
 * Options: --requests N  --concurrency N  --seed N
 *          --db auto (default: DATABASE_URL, else 127.0.0.1:5432, else embedded) | embedded | none | postgres://…
 */
import { parseArgs } from 'node:util';
import { runScenario, type ScenarioOptions } from './scenario.js';
import { formatReport } from './report.js';

function usage(message: string): never {
  console.error(`demo: ${message}\nusage: npm start -- [--requests N] [--concurrency N] [--seed N] [--db auto|embedded|none|postgres://…]`);
  process.exit(2);
}

function parse(): ScenarioOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: { requests: { type: 'string' }, concurrency: { type: 'string' }, seed: { type: 'string' }, db: { type: 'string' } },
    }));
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  const opts: ScenarioOptions = {};
  for (const name of ['requests', 'concurrency', 'seed'] as const) {
    const v = values[name];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > 100_000) usage(`--${name} must be a positive integer (≤ 100000), got ${JSON.stringify(v)}`);
    opts[name] = n;
  }
  const db = values['db'] ?? 'auto';
  if (db === 'none') opts.database = false;
  else if (db === 'embedded' || /^postgres(ql)?:\/\//.test(db)) opts.database = db;
  else if (db !== 'auto') usage(`--db must be auto, embedded, none or a postgres:// URL, got ${JSON.stringify(db)}`);
  return opts;
}

const opts = parse();
console.error('running the naive twin, then the ctxkit twin (about 15 s)…');
try {
  const report = await runScenario({
    ...opts,
    log: (line) => {
      if (/embedded PostgreSQL/.test(line)) console.error(line);
    },
  });
  if ('missing' in report.database && opts.database !== false) {
    console.error(`demo: NO POSTGRESQL — ran without a database: ${report.database.missing}`);
  }
  process.stdout.write(formatReport(report));
} catch (e) {
  console.error('demo failed:', e);
  process.exitCode = 1;
}
