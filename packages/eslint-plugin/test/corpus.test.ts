// The labeled corpus must keep its shape (≥ 60 snippets, ≥ 40% clean) and the rules must meet
// the quality targets on it: precision ≥ 0.90 and recall ≥ 0.85, overall and for every rule
// that has labeled findings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runCorpus } from '../scripts/corpus.js';

test('corpus: precision ≥ 0.90 and recall ≥ 0.85', async () => {
  const r = await runCorpus();
  const detail = formatReport(r) + '\n' + r.mistakes.join('\n');
  assert.deepEqual(r.fatal, [], 'every corpus file parses with type information');
  assert.ok(r.files >= 60, `corpus has ${r.files} files, want ≥ 60`);
  assert.ok(r.cleanFiles / r.files >= 0.4, `corpus is ${r.cleanFiles}/${r.files} clean, want ≥ 40%`);
  assert.ok(r.overall.precision >= 0.9, `overall precision ${r.overall.precision}\n${detail}`);
  assert.ok(r.overall.recall >= 0.85, `overall recall ${r.overall.recall}\n${detail}`);
  for (const [rule, s] of Object.entries(r.perRule)) {
    assert.ok(s.tp + s.fn > 0, `rule ${rule} has no labeled finding in the corpus`);
    assert.ok(s.precision >= 0.9, `${rule} precision ${s.precision}\n${detail}`);
    assert.ok(s.recall >= 0.85, `${rule} recall ${s.recall}\n${detail}`);
  }
});
