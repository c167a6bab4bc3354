// Lints the monorepo's own sources (packages/*/src) with ctxkit.configs.recommended and type
// information; prints findings and exits 1 when there are any. `npm run self-lint -w packages/eslint-plugin`.
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { standaloneConfig } from '../src/config.js';

/** Repository root. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Lints packages/*\/src of the repository; resolves to ESLint's results. */
export async function selfLint(): Promise<ESLint.LintResult[]> {
  const eslint = new ESLint({
    cwd: repoRoot,
    overrideConfigFile: true,
    overrideConfig: standaloneConfig({ root: repoRoot, typed: true }) as ESLint.Options['overrideConfig'],
  });
  return eslint.lintFiles(['packages/*/src/**/*.ts']);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await selfLint();
  const eslint = new ESLint({ cwd: repoRoot });
  const text = await (await eslint.loadFormatter('stylish')).format(results);
  const count = results.reduce((n, r) => n + r.errorCount + r.warningCount, 0);
  process.stdout.write(text || `self-lint: ${results.length} files, no findings\n`);
  process.exitCode = count > 0 ? 1 : 0;
}
