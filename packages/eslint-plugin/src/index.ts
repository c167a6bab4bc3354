/**
 * @ctxkit/eslint-plugin — static analysis of cancellation propagation in TypeScript.
 *
 * Rules of use: add `ctxkit.configs.recommended` to a flat config that parses TypeScript with
 * type information (typescript-eslint `projectService`); without type information the rules fall
 * back to syntax (annotations named `Context`/`AbortSignal`, parameters named `ctx`/`signal`) and
 * find less. Or run `npx ctxkit-lint` on a project with no ESLint configuration at all.
 */
import { readFileSync } from 'node:fs';
import type { TSESLint } from '@typescript-eslint/utils';
import { rules } from './rules/index.js';

/** The plugin's name and version, read from its package.json (the same from src/ and dist/). */
const pkg: { name: string; version: string } = (({ name, version }) => ({ name, version }))(
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name: string; version: string },
);

/** The rule ids of the recommended set and their severity. */
export const recommendedRules: Record<string, 'error' | 'warn'> = Object.fromEntries(
  Object.entries(rules)
    .filter(([, r]) => r.meta.docs?.recommended)
    .map(([id]) => [`ctxkit/${id}`, 'error' as const]),
);

/** The plugin object: `meta`, `rules`, and `configs.recommended` (a flat config object). */
export interface CtxkitPlugin {
  readonly meta: { readonly name: string; readonly version: string };
  readonly rules: typeof rules;
  readonly configs: {
    /** Registers the plugin as `ctxkit` and turns on every recommended rule as an error. */
    readonly recommended: TSESLint.FlatConfig.Config;
  };
}

const plugin: CtxkitPlugin = {
  meta: pkg,
  rules,
  configs: {} as CtxkitPlugin['configs'],
};
(plugin.configs as { recommended: TSESLint.FlatConfig.Config }).recommended = {
  name: 'ctxkit/recommended',
  plugins: { ctxkit: plugin as unknown as TSESLint.FlatConfig.Plugin },
  rules: recommendedRules,
};

export { rules };
export default plugin;
/** What `require('@ctxkit/eslint-plugin')` returns (Node ≥ 20.19): the plugin itself, as in ESM. */
export { plugin as 'module.exports' };
