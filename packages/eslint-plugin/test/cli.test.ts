// The ctxkit-lint command, run as users run it (the built dist/cli.js in a child process) on
// throwaway projects that have no ESLint configuration of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ctxkit-lint-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function run(dir: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tsconfig = JSON.stringify({
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022', 'DOM'],
    module: 'ESNext',
    moduleResolution: 'Bundler',
    strict: true,
    noEmit: true,
    types: [],
  },
  include: ['*.ts'],
});

const buggy = `export async function getUser(signal: AbortSignal, id: string): Promise<unknown> {
  const res = await fetch('https://api.example.com/users/' + id);
  return res.json();
}
`;
const clean = `export async function getUser(signal: AbortSignal, id: string): Promise<unknown> {
  const res = await fetch('https://api.example.com/users/' + id, { signal });
  return res.json();
}
`;

test('ctxkit-lint reports findings with type information and exits 1', () => {
  const dir = project({ 'tsconfig.json': tsconfig, 'api.ts': buggy, 'eslint.config.js': 'throw new Error("must not be loaded")\n' });
  try {
    const r = run(dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /api\.ts/);
    assert.match(r.stdout, /ctxkit\/pass-context/);
    assert.match(r.stdout, /2:\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ctxkit-lint exits 0 on a clean project and says so', () => {
  const dir = project({ 'tsconfig.json': tsconfig, 'api.ts': clean });
  try {
    const r = run(dir);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /1 file\(s\), no findings/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ctxkit-lint without a tsconfig.json says so and still lints by syntax', () => {
  const dir = project({ 'api.ts': buggy });
  try {
    const r = run(dir);
    assert.match(r.stderr, /no tsconfig\.json in .*linting without type information/);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /ctxkit\/pass-context/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ctxkit-lint --format json prints machine-readable results', () => {
  const dir = project({ 'tsconfig.json': tsconfig, 'api.ts': buggy });
  try {
    const r = run(dir, '--format', 'json', 'api.ts');
    assert.equal(r.status, 1, r.stderr);
    const results = JSON.parse(r.stdout) as Array<{ messages: Array<{ ruleId: string; line: number }> }>;
    assert.deepEqual(
      results[0]!.messages.map((m) => [m.ruleId, m.line]),
      [['ctxkit/pass-context', 2]],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ctxkit-lint rejects unknown options and missing paths with status 2', () => {
  const dir = project({ 'tsconfig.json': tsconfig, 'api.ts': clean });
  try {
    const bad = run(dir, '--frobnicate');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /frobnicate/);
    const none = run(dir, 'does-not-exist');
    assert.equal(none.status, 2);
    assert.match(none.stderr, /no files to lint|No files matching/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
