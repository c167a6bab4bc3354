// The plugin's packaging contract: the rule ids, the recommended flat config, a docs page with a
// bad and a good example for every rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import plugin, { rules } from '@ctxkit/eslint-plugin';

const IDS = [
  'lost-cancel',
  'pass-context',
  'no-background-in-scope',
  'no-swallowed-cancel',
  'no-floating-work',
  'typed-context-keys',
  'no-context-in-field',
  'no-value-in-loop',
  'no-double-timeout',
];

test("the plugin has exactly the issue's rule ids, all in configs.recommended", () => {
  assert.deepEqual(Object.keys(rules).sort(), [...IDS].sort());
  const rec = plugin.configs.recommended;
  assert.equal(rec.plugins?.ctxkit, plugin);
  assert.deepEqual(Object.keys(rec.rules ?? {}).sort(), IDS.map((id) => `ctxkit/${id}`).sort());
});

test('every rule has a docs page with a bad and a good example, linked from its meta', () => {
  for (const id of IDS) {
    const page = new URL(`../docs/rules/${id}.md`, import.meta.url);
    assert.ok(existsSync(page), `docs/rules/${id}.md exists`);
    const text = readFileSync(page, 'utf8');
    assert.match(text, new RegExp(`^# ctxkit/${id}\\n`));
    assert.match(text, /## Bad\n\n```[a-z]+\n[\s\S]+?```/);
    assert.match(text, /## Good\n\n```[a-z]+\n[\s\S]+?```/);
    const meta = (rules as Record<string, { meta: { docs?: { url?: string; description?: string } } }>)[id]!.meta;
    assert.ok(meta.docs?.url?.endsWith(`/docs/rules/${id}.md`));
    assert.ok((meta.docs?.description ?? '').length > 20);
  }
});
