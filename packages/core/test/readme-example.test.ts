import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { leakCheckAfterAll } from '@ctxkit/testing';

leakCheckAfterAll(after);

test('the README example (examples/quickstart.ts) runs and stops the slow quote at its budget', () => {
  const file = new URL('../examples/quickstart.ts', import.meta.url).pathname;
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^fast quote: 70$/m);
  assert.match(r.stdout, /^slow quote stopped: TimeoutError: quote budget of 100 ms spent$/m);
});

test('the README shows examples/quickstart.ts as it is', () => {
  const file = readFileSync(new URL('../examples/quickstart.ts', import.meta.url), 'utf8');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(`\`\`\`ts\n${file}\`\`\``), 'packages/core/README.md differs from examples/quickstart.ts');
});
