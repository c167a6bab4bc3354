import rule from '../src/rules/lost-cancel.js';
import { runRule, typedTester } from './tester.js';

const head = `import { withCancel, withTimeout, withDeadline, fromSignal, type Context } from '@ctxkit/core';\n`;

runRule(typedTester(), 'lost-cancel', rule, {
  valid: [
    head +
      `export async function f(ctx: Context) { using s = withTimeout(ctx, 100); await work(s.ctx); }\ndeclare function work(c: Context): Promise<void>;`,
    head +
      `export async function f(ctx: Context) { const s = withTimeout(ctx, 100); try { await work(s.ctx); } finally { s.cancel(); } }\ndeclare function work(c: Context): Promise<void>;`,
    head +
      `export function f(ctx: Context) { const s = withCancel(ctx); work(s.ctx); s.cancel(); }\ndeclare function work(c: Context): void;`,
    head + `export function f(ctx: Context) { return withCancel(ctx); }`,
    head + `export function f(ctx: Context) { const s = withCancel(ctx); return s; }`,
    head + `class Worker { scope; constructor(ctx: Context) { this.scope = withCancel(ctx); } stop() { this.scope.cancel(); } }`,
    head +
      `export function f(ctx: Context, ee: { on(e: string, f: () => void): void }) { const s = withCancel(ctx); ee.on('close', () => s.cancel()); return s.ctx; }`,
    head +
      `export function f(ctx: Context, sig: AbortSignal) { const { ctx: c, cancel } = fromSignal(ctx, sig); sig.addEventListener('abort', cancel); return c; }`,
    head +
      `export async function f(ctx: Context) { const { ctx: c, cancel } = withDeadline(ctx, Date.now() + 10); try { await work(c); } finally { cancel(); } }\ndeclare function work(c: Context): Promise<void>;`,
    head +
      `export async function f(ctx: Context) { const s = withTimeout(ctx, 10); try { await work(s.ctx); } catch { /* logged */ } s.cancel(); }\ndeclare function work(c: Context): Promise<void>;`,
    `export function f() { const ac = new AbortController(); setTimeout(() => ac.abort(), 10); return fetch('http://x', { signal: ac.signal }); }`,
    `export function f() { const ac = new AbortController(); return ac; }`,
    `export function f(done: Promise<void>) { const ac = new AbortController(); void done.then(() => ac.abort()); return ac.signal; }`,
  ],
  invalid: [
    {
      code:
        head +
        `export async function f(ctx: Context) { const s = withTimeout(ctx, 100); await work(s.ctx); }\ndeclare function work(c: Context): Promise<void>;`,
      errors: [
        {
          messageId: 'neverCancelled',
          suggestions: [
            {
              messageId: 'useUsing',
              output:
                head +
                `export async function f(ctx: Context) { using s = withTimeout(ctx, 100); await work(s.ctx); }\ndeclare function work(c: Context): Promise<void>;`,
            },
          ],
        },
      ],
    },
    {
      code:
        head +
        `export async function f(ctx: Context) { const s = withCancel(ctx); await work(s.ctx); s.cancel(); }\ndeclare function work(c: Context): Promise<void>;`,
      errors: [
        {
          messageId: 'notOnEveryPath',
          data: { maker: 'withCancel', exit: 'await (which may throw)', line: 2 },
          suggestions: [
            {
              messageId: 'useUsing',
              output:
                head +
                `export async function f(ctx: Context) { using s = withCancel(ctx); await work(s.ctx); s.cancel(); }\ndeclare function work(c: Context): Promise<void>;`,
            },
          ],
        },
      ],
    },
    {
      code:
        head +
        `export function f(ctx: Context, a: boolean) {\n const { ctx: c, cancel } = withCancel(ctx);\n if (a) return 1;\n use(c); cancel(); return 2; }\ndeclare function use(c: Context): void;`,
      errors: [{ messageId: 'notOnEveryPath', data: { maker: 'withCancel', exit: 'return', line: 4 } }],
    },
    {
      code: head + `export function f(ctx: Context, a: boolean) { const s = withCancel(ctx); if (a) s.cancel(); }`,
      errors: [
        {
          messageId: 'notOnEveryPath',
          suggestions: [
            {
              messageId: 'useUsing',
              output: head + `export function f(ctx: Context, a: boolean) { using s = withCancel(ctx); if (a) s.cancel(); }`,
            },
          ],
        },
      ],
    },
    { code: head + `export function f(ctx: Context) { return withTimeout(ctx, 5).ctx; }`, errors: [{ messageId: 'discarded' }] },
    { code: head + `export function f(ctx: Context) { withCancel(ctx); }`, errors: [{ messageId: 'discarded' }] },
    {
      code: head + `export function f(ctx: Context) { const { ctx: c } = withCancel(ctx); return c; }`,
      errors: [{ messageId: 'discarded' }],
    },
    {
      code: `export function f() { const ac = new AbortController(); return fetch('http://x', { signal: ac.signal }); }`,
      errors: [{ messageId: 'controllerNeverAborted' }],
    },
  ],
});
