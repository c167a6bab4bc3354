import rule from '../src/rules/no-double-timeout.js';
import { runRule, typedTester } from './tester.js';

const head = `import { withTimeout, type Context } from '@ctxkit/core';\ndeclare const http: { get(url: string, o: { signal?: AbortSignal; timeout?: number }): Promise<unknown> };\ndeclare function query(ctx: Context, q: { text: string; query_timeout?: number }): Promise<unknown>;\n`;

runRule(typedTester(), 'no-double-timeout', rule, {
  valid: [
    head + `export async function f(ctx: Context) { using s = withTimeout(ctx, 5000); return http.get('u', { signal: s.ctx.signal }); }`,
    head + `export async function f() { return http.get('u', { timeout: 5000 }); }`,
    head + `export async function f(ctx: Context) { return query(ctx, { text: 'select 1' }); }`,
    head + `export async function f(ctx: Context) { return http.get('u', { signal: ctx.signal, timeout: undefined }); }`,
  ],
  invalid: [
    { code: head + `export async function f(ctx: Context) { return http.get('u', { signal: ctx.signal, timeout: 5000 }); }`, errors: [{ messageId: 'double', data: { option: 'timeout' } }] },
    { code: head + `export async function f(ctx: Context) { return query(ctx, { text: 'select 1', query_timeout: 2000 }); }`, errors: [{ messageId: 'double', data: { option: 'query_timeout' } }] },
    { code: head + `export async function f(ctx: Context) { return fetch('u', { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(1000)]) }); }`, errors: [{ messageId: 'anyTimeout' }] },
  ],
});
