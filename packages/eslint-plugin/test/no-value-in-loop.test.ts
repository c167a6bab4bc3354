import rule from '../src/rules/no-value-in-loop.js';
import { runRule, typedTester } from './tester.js';

const head = `import { createKey, withValue, withCancel, withTimeout, type Context } from '@ctxkit/core';\nconst k = createKey<number>('k');\n`;

runRule(typedTester(), 'no-value-in-loop', rule, {
  valid: [
    head + `export function f(ctx: Context, xs: number[]) { for (const x of xs) { const c = withValue(ctx, k, x); void c; } }`,
    head + `export function f(ctx: Context) { ctx = withValue(ctx, k, 1); return ctx; }`,
    head + `export function f(ctx: Context, xs: number[]) { for (const x of xs) { let c = ctx; c = withValue(c, k, x); void c; } }`,
  ],
  invalid: [
    {
      code: head + `export function f(ctx: Context, xs: number[]) { for (const x of xs) { ctx = withValue(ctx, k, x); } return ctx; }`,
      errors: [{ messageId: 'growing', data: { name: 'ctx', maker: 'withValue' } }],
    },
    {
      code: head + `export function f(ctx: Context) { let i = 0; while (i++ < 3) { ctx = withTimeout(ctx, 10).ctx; } return ctx; }`,
      errors: [{ messageId: 'growing', data: { name: 'ctx', maker: 'withTimeout' } }],
    },
    {
      code:
        head +
        `export function f(ctx: Context) { let s = withCancel(ctx); for (let i = 0; i < 3; i++) { s = withCancel(s.ctx); } return s; }`,
      errors: [{ messageId: 'growing', data: { name: 's', maker: 'withCancel' } }],
    },
  ],
});
