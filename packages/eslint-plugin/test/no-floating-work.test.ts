import rule from '../src/rules/no-floating-work.js';
import { runRule, typedTester } from './tester.js';

const head = `import { withoutCancel, Group, type Context } from '@ctxkit/core';\ndeclare function audit(ctx: Context, what: string): Promise<void>;\ndeclare function flush(): Promise<void>;\n`;

runRule(typedTester(), 'no-floating-work', rule, {
  valid: [
    head + `export async function f(ctx: Context) { await audit(ctx, 'x'); }`,
    head + `export function f(ctx: Context) { return audit(ctx, 'x'); }`,
    head + `export function f(ctx: Context) { void audit(withoutCancel(ctx), 'x'); }`,
    head + `export function f(ctx: Context) { const bg = withoutCancel(ctx); audit(bg, 'x').catch(() => {}); }`,
    head + `export async function f(ctx: Context) { const g = new Group(ctx); g.go((c) => audit(c, 'a')); await g.wait(); }`,
    head + `export function f(ctx: Context) { void flush(); return ctx; }`,
    head + `export function f() { audit(null as unknown as Context, 'x'); }`,
    head + `export function f(ctx: Context) { return new Promise<void>((resolve, reject) => { audit(ctx, 'x').then(resolve, reject); }); }`,
    // a synchronous forEach callback starts no promise
    head + `export function f(ctx: Context, xs: string[]) { xs.forEach((x) => console.log(x)); return ctx; }`,
    // the array of promises is awaited
    head + `export async function f(ctx: Context, xs: string[]) { await Promise.all(xs.map((x) => audit(ctx, x))); }`,
    // no context in scope
    head + `export function f(xs: string[]) { xs.forEach(async (x) => { await flush(); console.log(x); }); }`,
    // deliberately detached
    head +
      `export function f(ctx: Context, xs: string[]) { const bg = withoutCancel(ctx); xs.forEach((x) => audit(bg, x).catch(() => {})); }`,
  ],
  invalid: [
    {
      code: head + `export async function f(ctx: Context) { audit(ctx, 'x'); }`,
      errors: [
        {
          messageId: 'floating',
          suggestions: [{ messageId: 'addAwait', output: head + `export async function f(ctx: Context) { await audit(ctx, 'x'); }` }],
        },
      ],
    },
    { code: head + `export function f(ctx: Context) { void audit(ctx, 'x'); }`, errors: [{ messageId: 'floating' }] },
    { code: head + `export function f(ctx: Context) { audit(ctx, 'x').catch(() => {}); }`, errors: [{ messageId: 'floating' }] },
    {
      code: head + `export function f(signal: AbortSignal) { fetch('u', { signal }).then((r) => r.text()); }`,
      errors: [{ messageId: 'floating' }],
    },
    // forEach drops the promise each async callback returns
    {
      code: head + `export async function f(ctx: Context, xs: string[]) { xs.forEach(async (x) => { await audit(ctx, x); }); }`,
      errors: [{ messageId: 'floatingEach' }],
    },
    {
      code: head + `export function f(ctx: Context, xs: Set<string>) { xs.forEach((x) => audit(ctx, x)); }`,
      errors: [{ messageId: 'floatingEach' }],
    },
    {
      code: head + `export async function f(ctx: Context, xs: string[]) { xs.map((x) => audit(ctx, x)); }`,
      errors: [{ messageId: 'floatingEach', data: { method: 'A discarded `map`' } }],
    },
  ],
});
