// The demo's command line, run the way its usage line tells users to: `npm start -- …` from the
// repository root and from examples/demo, in a child process (npm, its prestart build, the demo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const demoDir = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs npm with `args` in `cwd`: the npm that runs this test when there is one, else `npm` on PATH. */
function npm(cwd: string, args: readonly string[]): Promise<Run> {
  const execPath = process.env['npm_execpath'];
  const [cmd, argv] = execPath?.endsWith('.js') ? [process.execPath, [execPath, ...args]] : ['npm', [...args]];
  // Options npm took as its own config (npm_config_*) must not leak from an outer npm into this one.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(requests|concurrency|seed|db)$/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

test('`npm start -- --requests 6 --concurrency 3` from the repository root runs the demo at that size', async () => {
  const r = await npm(root, ['start', '--', '--requests', '6', '--concurrency', '3']);
  assert.equal(r.status, 0, `exit status ${r.status}\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /Unknown cli config|Unexpected argument/);
  assert.match(r.stdout, /6 requests from 3 concurrent clients/);
  assert.match(r.stdout, /naive\s+ctxkit/);
  assert.match(r.stdout, /requests sent\s+6\s+6\n/);
  assert.match(r.stdout, /Verdict:/);
  for (const line of r.stdout.split('\n')) assert.ok(Array.from(line).length <= 80, JSON.stringify(line));
  // No terminal here: a short line per phase on stderr, no live count.
  assert.match(r.stderr, /demo: naive twin, 6 requests…\n[\s\S]*demo: ctxkit twin done in \d+\.\d s\n/);
});

test('from examples/demo the same command checks the options: a bad value exits 2 with the usage', async () => {
  const r = await npm(demoDir, ['start', '--', '--requests', '0']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--requests must be a positive integer \(≤ 100000\), got "0"/);
  assert.match(r.stderr, /usage: npm start -- \[--requests N\]/);
  assert.equal(r.stdout.includes('Verdict'), false);
});

test('an option written before `--` (so npm takes it) is named, with the command to write instead', async () => {
  const r = await npm(root, ['start', '--requests=20']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--requests reached npm, not the demo: write `npm start -- --requests 20`/);
});
