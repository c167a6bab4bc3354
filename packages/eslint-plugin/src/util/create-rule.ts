import { ESLintUtils } from '@typescript-eslint/utils';

/** Documentation URL of a rule: its page in this package's docs/rules directory. */
export function ruleDocsUrl(name: string): string {
  return `https://github.com/ctxkit/ctxkit/blob/main/packages/eslint-plugin/docs/rules/${name}.md`;
}

/** Extra `meta.docs` fields every ctxkit rule declares. */
export interface CtxkitRuleDocs {
  /** Whether `ctxkit.configs.recommended` turns the rule on. */
  recommended: boolean;
  /** Whether the rule needs type information to work at all (all ctxkit rules degrade to syntax-only without it). */
  requiresTypeChecking: boolean;
}

/** `RuleCreator` bound to ctxkit's docs URLs; every rule of the plugin is made with it. */
export const createRule = ESLintUtils.RuleCreator<CtxkitRuleDocs>(ruleDocsUrl);
