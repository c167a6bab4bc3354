#!/usr/bin/env node
// Runs every test file of the monorepo with node:test (TypeScript through tsx) and exits with the
// runner's status. Workspace packages resolve through their `source` export condition, so tests run
// the TypeScript in src/ as it is now, never a stale dist/. The runner's own summary (tests / pass / fail) is the last thing printed.
// Usage: node scripts/test.mjs [path-filter…]   e.g. node scripts/test.mjs packages/core
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const roots = ['packages', 'examples', 'test'];

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (/\.test\.ts$/.test(name) && /[\\/]test[\\/]/.test(p)) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2);
const files = roots
  .flatMap((r) => collect(join(root, r), []))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('scripts/test.mjs: no test files found' + (filters.length ? ` for ${filters.join(', ')}` : ''));
  process.exit(1);
}
const reporter = process.env.TEST_REPORTER ?? 'spec';
const res = spawnSync(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    '--expose-gc',
    '--test',
    `--test-reporter=${reporter}`,
    '--test-concurrency=2',
    '--test-timeout=180000',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
