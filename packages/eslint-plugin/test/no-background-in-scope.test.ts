import rule from '../src/rules/no-background-in-scope.js';
import { runRule, typedTester } from './tester.js';

const head = `import { background, todo, withoutCancel, afterFunc, type Context } from '@ctxkit/core';\n`;

runRule(typedTester(), 'no-background-in-scope', rule, {
  valid: [
    head + `export const root = background();`,
    head + `export function main() { return background(); }`,
    head + `export function f(ctx: Context) { return withoutCancel(ctx); }`,
    head + `export function f(ctx: Context) { const ac = new AbortController(); afterFunc(ctx, () => ac.abort()); return ac; }`,
    `export function f(signal: AbortSignal) { const ac = new AbortController(); signal.addEventListener('abort', () => ac.abort(signal.reason), { once: true }); return ac.signal; }`,
    `export function f() { const ac = new AbortController(); return ac.signal; }`,
  ],
  invalid: [
    {
      code: head + `export function f(ctx: Context) { return background(); }`,
      errors: [
        {
          messageId: 'root',
          suggestions: [
            { messageId: 'useContext', output: head + `export function f(ctx: Context) { return ctx; }` },
            { messageId: 'useWithoutCancel', output: head + `export function f(ctx: Context) { return withoutCancel(ctx); }` },
          ],
        },
      ],
    },
    {
      code: head + `export function f(ctx: Context) { return () => todo(); }`,
      errors: [
        {
          messageId: 'root',
          suggestions: [
            { messageId: 'useContext', output: head + `export function f(ctx: Context) { return () => ctx; }` },
            { messageId: 'useWithoutCancel', output: head + `export function f(ctx: Context) { return () => withoutCancel(ctx); }` },
          ],
        },
      ],
    },
    {
      code: `export async function f(signal: AbortSignal) { const ac = new AbortController(); setTimeout(() => ac.abort(), 5000); return fetch('u', { signal: ac.signal }); }`,
      errors: [{ messageId: 'controller' }],
    },
  ],
});
