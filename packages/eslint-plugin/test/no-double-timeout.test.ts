import rule from '../src/rules/no-double-timeout.js';
import { runRule, typedTester } from './tester.js';

const head = `import { withTimeout, type Context } from '@ctxkit/core';\ndeclare const http: { get(url: string, o: { signal?: AbortSignal; timeout?: number }): Promise<unknown> };\ndeclare function query(ctx: Context, q: { text: string; query_timeout?: number }): Promise<unknown>;\n`;

runRule(typedTester(), 'no-double-timeout', rule, {
  valid: [
    head + `export async function f(ctx: Context) { using s = withTimeout(ctx, 5000); return http.get('u', { signal: s.ctx.signal }); }`,
    head + `export async function f() { return http.get('u', { timeout: 5000 }); }`,
    head + `export async function f(ctx: Context) { return query(ctx, { text: 'select 1' }); }`,
    head + `export async function f(ctx: Context) { return http.get('u', { signal: ctx.signal, timeout: undefined }); }`,
    // a pool made at module level (no context in scope) may carry its own safety net
    `import pg from 'pg';
export const pool = new pg.Pool({ query_timeout: 30_000 });`,
    // statement_timeout is enforced by the server for the whole session; only query_timeout is a client clock
    `import pg from 'pg';
import type { Context } from '@ctxkit/core';
export function f(ctx: Context) { return [ctx, new pg.Client({ statement_timeout: 30_000 })]; }`,
  ],
  invalid: [
    {
      code: head + `export async function f(ctx: Context) { return http.get('u', { signal: ctx.signal, timeout: 5000 }); }`,
      errors: [{ messageId: 'double', data: { option: 'timeout' } }],
    },
    {
      code: head + `export async function f(ctx: Context) { return query(ctx, { text: 'select 1', query_timeout: 2000 }); }`,
      errors: [{ messageId: 'double', data: { option: 'query_timeout' } }],
    },
    {
      code:
        head +
        `export async function f(ctx: Context) { return fetch('u', { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(1000)]) }); }`,
      errors: [{ messageId: 'anyTimeout' }],
    },
    // a pg client made for this function's work, with its own client-side query_timeout
    {
      code: `import pg from 'pg';
import type { Context } from '@ctxkit/core';
export async function f(ctx: Context, url: string) { const c = new pg.Client({ connectionString: url, query_timeout: 5_000 }); await c.connect(); return [ctx, c]; }`,
      errors: [{ messageId: 'clientTimeout', data: { option: 'query_timeout' } }],
    },
  ],
});
