// Each workspace package declares what its own code, tests, examples and benchmarks import: a
// package's tests must not pass only because a sibling or the root happens to install something.
import assert from 'node:assert/strict';
import { builtinModules } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const builtins = new Set(builtinModules);

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures' || name === 'corpus') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|mts|mjs|js)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The package a bare import specifier names (`@scope/name/sub` → `@scope/name`), or undefined. */
function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || spec.startsWith('#')) return undefined;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? spec);
  return builtins.has(name) ? undefined : name;
}

const importRe =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

const workspaces = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

for (const ws of workspaces) {
  test(`${ws} declares every package its code and tests import`, () => {
    const pkg = JSON.parse(readFileSync(join(root, ws, 'package.json'), 'utf8')) as Record<string, unknown>;
    const declared = new Set<string>([
      pkg['name'] as string,
      ...Object.keys((pkg['dependencies'] as object) ?? {}),
      ...Object.keys((pkg['devDependencies'] as object) ?? {}),
      ...Object.keys((pkg['peerDependencies'] as object) ?? {}),
    ]);
    const missing: string[] = [];
    for (const f of files(join(root, ws))) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(importRe)) {
        const spec = m[1] ?? m[2] ?? m[3] ?? '';
        const name = packageOf(spec);
        if (name !== undefined && !declared.has(name)) missing.push(`${relative(root, f)}: ${spec}`);
      }
    }
    assert.deepEqual(missing, [], `${ws}/package.json does not declare:\n${missing.join('\n')}`);
  });
}
