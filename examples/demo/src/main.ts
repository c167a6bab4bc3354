/**
 * `npm start`: runs the scenario (naive twin, then ctxkit twin) and prints the side-by-side
 * report on stdout (progress on stderr). Exits 0 on success, 1 if the scenario itself failed,
 * 2 on bad options. The same command works from the repository root and from examples/demo.
 *
 * Options: --requests N  --concurrency N  --seed N
 *          --db auto (default: DATABASE_URL, else 127.0.0.1:5432, else embedded) | embedded | none | postgres://…
 */
import { parseArgs } from 'node:util';
import { runScenario, type ScenarioOptions } from './scenario.js';
import { formatReport } from './report.js';
import { progressPrinter } from './progress.js';

const USAGE = `usage: npm start -- [--requests N] [--concurrency N] [--seed N] [--db auto|embedded|none|postgres://…]
  (from the repository root or from examples/demo; options go after \`--\`)
  --requests N     requests sent to each twin (default 200)
  --concurrency N  clients sending them at once (default 40)
  --seed N         seed of which clients give up, when, and how long each step takes (default 42)
  --db …           auto: DATABASE_URL, else 127.0.0.1:5432, else an embedded PostgreSQL;
                   embedded; none (a timer stands in for the SQL statement); or a postgres:// URL`;

const NUMERIC = ['requests', 'concurrency', 'seed'] as const;

function usage(message: string): never {
  console.error(`demo: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * `npm start --requests 20` (no `--`) hands the option to npm, which keeps it as its own config
 * (`npm_config_requests` in the environment) and passes the value on as a stray argument. Say
 * so instead of running with the defaults.
 */
function optionsGivenToNpm(): string[] {
  return [...NUMERIC, 'db'].filter((name) => process.env[`npm_config_${name}`] !== undefined);
}

function parse(): ScenarioOptions {
  const misplaced = optionsGivenToNpm();
  if (misplaced.length > 0) {
    // `--requests 20` leaves npm_config_requests=true and 20 as an argument; `--requests=20` keeps the value.
    const value = (n: string): string => (process.env[`npm_config_${n}`] === 'true' ? '…' : process.env[`npm_config_${n}`]!);
    const given = misplaced.map((n) => `--${n} ${value(n)}`).join(' ');
    usage(`${misplaced.map((n) => `--${n}`).join(', ')} reached npm, not the demo: write \`npm start -- ${given}\``);
  }
  let values: { requests?: string; concurrency?: string; seed?: string; db?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        requests: { type: 'string' },
        concurrency: { type: 'string' },
        seed: { type: 'string' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const opts: ScenarioOptions = {};
  for (const name of NUMERIC) {
    const v = values[name];
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0 || n > 100_000) usage(`--${name} must be a positive integer (≤ 100000), got ${JSON.stringify(v)}`);
    opts[name] = n;
  }
  const db = values.db ?? 'auto';
  if (db === 'none') opts.database = false;
  else if (db === 'embedded' || /^postgres(ql)?:\/\//.test(db)) opts.database = db;
  else if (db !== 'auto') usage(`--db must be auto, embedded, none or a postgres:// URL, got ${JSON.stringify(db)}`);
  return opts;
}

const opts = parse();
const progress = progressPrinter(process.stderr);
try {
  const report = await runScenario({
    ...opts,
    log: (line) => {
      if (/embedded PostgreSQL/.test(line)) console.error(line);
    },
    progress,
  });
  progress.end();
  if ('missing' in report.database && opts.database !== false) {
    console.error(`demo: NO POSTGRESQL — ran without a database: ${report.database.missing}`);
  }
  process.stdout.write(formatReport(report));
} catch (e) {
  progress.end();
  console.error('demo failed:', e);
  process.exitCode = 1;
}
