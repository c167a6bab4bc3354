import rule from '../src/rules/no-swallowed-cancel.js';
import { runRule, typedTester } from './tester.js';

const head = `import { isContextError, sleep, withTimeout, withoutCancel, type Context } from '@ctxkit/core';\ndeclare function load(ctx: Context): Promise<string>;\n`;

runRule(typedTester(), 'no-swallowed-cancel', rule, {
  valid: [
    head +
      `export async function f(ctx: Context) { try { return await load(ctx); } catch (e) { if (isContextError(e)) throw e; return 'fallback'; } }`,
    head +
      `export async function f(ctx: Context) { try { return await load(ctx); } catch (e) { throw new Error('load failed', { cause: e }); } }`,
    head +
      `export async function f(ctx: Context) { try { return await load(ctx); } catch (e) { if (ctx.err) throw ctx.err; return 'fallback'; } }`,
    head +
      `export async function f(ctx: Context) { try { await fetch('u', { signal: ctx.signal }); } catch (e) { if ((e as Error).name === 'AbortError') throw e; } }`,
    head + `export function f(ctx: Context, next: (e: unknown) => void) { load(ctx).catch((e) => next(e)); }`,
    // not context-aware work: nothing to swallow
    head + `export function f(s: string) { try { return JSON.parse(s); } catch { return undefined; } }`,
    // cleanup on a deliberately detached context may swallow its own failure
    head +
      `export async function f(ctx: Context) { const s = withTimeout(withoutCancel(ctx), 100); try { await load(s.ctx); } catch { /* best effort */ } finally { s.cancel(); } }`,
    // the loop re-checks the context right after the try
    head +
      `export async function f(ctx: Context) { for (;;) { try { return await load(ctx); } catch { /* retry */ } ctx.throwIfDone(); await sleep(ctx, 10); } }`,
  ],
  invalid: [
    {
      code: head + `export async function f(ctx: Context) { try { return await load(ctx); } catch { return 'fallback'; } }`,
      errors: [{ messageId: 'swallowed', data: { what: 'catch' } }],
    },
    {
      code: head + `export async function f(ctx: Context) { try { await sleep(ctx, 100); } catch (e) { console.error(e); } }`,
      errors: [{ messageId: 'swallowed' }],
    },
    {
      code: head + `export function f(ctx: Context) { return load(ctx).catch(() => 'fallback'); }`,
      errors: [{ messageId: 'swallowed', data: { what: '.catch() handler' } }],
    },
    {
      code: `export async function f(signal: AbortSignal) { try { await fetch('u', { signal }); } catch (err) { console.warn('fetch failed', err); } }`,
      errors: [{ messageId: 'swallowed' }],
    },
  ],
});
