// RuleTester wired to node:test, with type information from the fixtures project (whose files
// resolve the real @ctxkit/core through the workspace's node_modules).
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RuleTester } from '@typescript-eslint/rule-tester';

RuleTester.afterAll = after;
RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

/** Directory of the type-aware fixture project. */
export const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));

/** A tester whose snippets are parsed with full type information. */
export function typedTester(): RuleTester {
  return new RuleTester({
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: fixtures,
      },
    },
  });
}

/** A tester without type information: the rules' syntactic fallback. */
export function untypedTester(): RuleTester {
  return new RuleTester();
}

/** The rule shape the tester accepts (its own copy of @typescript-eslint/utils may differ in patch version). */
type TesterRule = Parameters<RuleTester['run']>[1];

/**
 * `tester.run(name, rule, tests)` for a ctxkit rule. The cast bridges the tester's own copy of
 * @typescript-eslint/utils (8.72) and the plugin's (8.73): the runtime objects are identical.
 */
export function runRule(tester: RuleTester, name: string, rule: object, tests: Parameters<RuleTester['run']>[2]): void {
  tester.run(name, rule as TesterRule, tests);
}
