import rule from '../src/rules/typed-context-keys.js';
import { runRule, typedTester, untypedTester } from './tester.js';

const head = `import { createKey, withValue, type Context, type Key } from '@ctxkit/core';\n`;

runRule(typedTester(), 'typed-context-keys', rule, {
  valid: [
    head + `const userKey = createKey<string>('user');\nexport function f(ctx: Context) { return withValue(ctx, userKey, 'ann'); }`,
    head + `export function f(ctx: Context, k: Key<number>) { return withValue(ctx, k, 1); }`,
    head + `const k = createKey<string>('k');\nexport function f(ctx: Context) { return ctx.value(k); }`,
  ],
  invalid: [
    {
      code: head + `export function f(ctx: Context) { return withValue(ctx, 'user' as any, 'ann'); }`,
      errors: [{ messageId: 'untyped', data: { what: 'a string' } }],
    },
    {
      code: head + `const K = Symbol('user');\nexport function f(ctx: Context) { return withValue(ctx, K as any, 'ann'); }`,
      errors: [{ messageId: 'untyped', data: { what: 'a symbol' } }],
    },
    {
      code: head + `export function f(ctx: Context, name: string) { return withValue(ctx, name as any, 1); }`,
      errors: [{ messageId: 'untyped', data: { what: 'a string' } }],
    },
    {
      code: head + `export function f(ctx: Context) { return ctx.value('user' as any); }`,
      errors: [{ messageId: 'untyped', data: { what: 'a string' } }],
    },
  ],
});

runRule(untypedTester(), 'typed-context-keys (JavaScript)', rule, {
  valid: [
    `import { createKey, withValue } from '@ctxkit/core';\nconst k = createKey('k');\nexport const f = (ctx) => withValue(ctx, k, 1);`,
  ],
  invalid: [
    {
      code: `import { withValue } from '@ctxkit/core';\nexport const f = (ctx) => withValue(ctx, 'requestId', 1);`,
      errors: [{ messageId: 'untyped' }],
    },
    {
      code: `import { withValue } from '@ctxkit/core';\nexport const f = (ctx) => withValue(ctx, { name: 'k' }, 1);`,
      errors: [{ messageId: 'untyped', data: { what: 'an object literal' } }],
    },
  ],
});
