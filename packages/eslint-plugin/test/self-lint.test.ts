// The project lints itself: packages/*/src with ctxkit.configs.recommended and type information.
// Findings fail the test, except the reviewed ones listed in self-lint-baseline.json (each with
// the reason it stays; the owners are told). A baseline entry that no longer occurs also fails,
// so the list cannot go stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { repoRoot, selfLint } from '../scripts/self-lint.js';

interface BaselineEntry {
  file: string;
  rule: string;
  source: string;
  reason: string;
}

const baseline = JSON.parse(readFileSync(new URL('./self-lint-baseline.json', import.meta.url), 'utf8')) as BaselineEntry[];

test('the repository passes its own ctxkit rules', async () => {
  const results = await selfLint();
  assert.ok(results.length > 10, `linted only ${results.length} files`);
  const unexpected: string[] = [];
  const seen = new Set<BaselineEntry>();
  for (const r of results) {
    const file = relative(repoRoot, r.filePath);
    const lines = r.source?.split('\n') ?? readFileSync(r.filePath, 'utf8').split('\n');
    for (const m of r.messages) {
      const source = (lines[m.line - 1] ?? '').trim();
      const rule = m.ruleId ?? '(fatal)';
      const known = baseline.find((b) => b.file === file && `ctxkit/${b.rule}` === rule && b.source === source);
      if (known) seen.add(known);
      else unexpected.push(`${file}:${m.line}:${m.column} ${rule}: ${m.message}\n    ${source}`);
    }
  }
  assert.deepEqual(unexpected, [], 'new findings in the repository');
  const stale = baseline.filter((b) => !seen.has(b)).map((b) => `${b.file} ${b.rule}: ${b.source}`);
  assert.deepEqual(stale, [], 'baseline entries that no longer occur (remove them)');
});
