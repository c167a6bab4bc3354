/**
 * A complete flat config for linting a project that has no ESLint configuration of its own:
 * TypeScript parsed with type information (typescript-eslint `projectService`), JavaScript
 * parsed without, and the recommended ctxkit rules on both. Used by `ctxkit-lint`.
 */
import type { TSESLint } from '@typescript-eslint/utils';
import tseslint from 'typescript-eslint';
import plugin from './index.js';

/** File patterns the standalone config lints. */
export const TS_FILES = ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'];
/** JavaScript patterns, linted without type information. */
export const JS_FILES = ['**/*.js', '**/*.jsx', '**/*.mjs', '**/*.cjs'];
/** Never linted: dependencies, build output, declaration files. */
export const IGNORES = ['**/node_modules/**', '**/dist/**', '**/build/**', '**/coverage/**', '**/*.d.ts'];

/** Options of `standaloneConfig`. */
export interface StandaloneOptions {
  /** Root of the project (where tsconfig.json files are looked up from). */
  readonly root: string;
  /** Parse TypeScript with type information. False: syntax only (no tsconfig available). */
  readonly typed: boolean;
}

/** The flat config array `ctxkit-lint` runs with: ignores, parsers, `ctxkit.configs.recommended`. */
export function standaloneConfig(opts: StandaloneOptions): TSESLint.FlatConfig.ConfigArray {
  return [
    { name: 'ctxkit-lint/ignores', ignores: IGNORES },
    {
      name: 'ctxkit-lint/typescript',
      files: TS_FILES,
      languageOptions: {
        parser: tseslint.parser,
        parserOptions: opts.typed ? { projectService: true, tsconfigRootDir: opts.root } : {},
      },
    },
    {
      name: 'ctxkit-lint/javascript',
      files: JS_FILES,
      languageOptions: { parser: tseslint.parser, sourceType: 'module' },
    },
    { ...plugin.configs.recommended, files: [...TS_FILES, ...JS_FILES] },
  ];
}
