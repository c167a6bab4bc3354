// Times one ESLint run over the repository's packages/*/src with typescript-eslint's
// recommendedTypeChecked, alone (`base`) or plus ctxkit.configs.recommended (`ctxkit`).
// Prints `{"mode","ms" (wall),"cpuMs","ctxkitMs" (the ctxkit rules' own time),"files"}` on stdout. Run each mode in a fresh process (the bench does).
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { fileURLToPath } from 'node:url';
import plugin from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const mode = process.argv[2];
if (mode !== 'base' && mode !== 'ctxkit') {
  process.stderr.write('usage: lint-time.ts base|ctxkit\n');
  process.exit(2);
}
const config = [
  { ignores: ['**/node_modules/**', '**/dist/**', '**/*.d.ts'] },
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: repoRoot } } },
  ...(mode === 'ctxkit' ? [{ ...plugin.configs.recommended, files: ['**/*.ts'] }] : []),
];
const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfigFile: true,
  overrideConfig: config as ESLint.Options['overrideConfig'],
  stats: true,
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const results = await eslint.lintFiles(['packages/*/src/**/*.ts']);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
let ctxkitMs = 0;
for (const r of results) {
  for (const pass of r.stats?.times.passes ?? []) {
    for (const [id, t] of Object.entries(pass.rules ?? {})) if (id.startsWith('ctxkit/')) ctxkitMs += t.total;
  }
}
process.stdout.write(JSON.stringify({ mode, ms, cpuMs: (cpu.user + cpu.system) / 1000, ctxkitMs, files: results.length }) + '\n');
