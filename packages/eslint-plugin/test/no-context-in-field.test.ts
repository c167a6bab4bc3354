import rule from '../src/rules/no-context-in-field.js';
import { runRule, typedTester, untypedTester } from './tester.js';

const head = `import { background, withCancel, type Context, type CancelScope } from '@ctxkit/core';\n`;

runRule(typedTester(), 'no-context-in-field', rule, {
  valid: [
    head + `export class Repo { find(ctx: Context, id: string) { return [ctx, id]; } }`,
    // owns the lifetime of its context
    head +
      `export class Worker { private readonly scope: CancelScope; readonly ctx: Context; constructor(p: Context) { this.scope = withCancel(p); this.ctx = this.scope.ctx; } stop() { this.scope.cancel(); } }`,
    // per-operation class by naming convention (default allowClasses)
    head + `export class UploadJob { constructor(readonly ctx: Context, readonly file: string) {} }`,
    { code: head + `export class Session { constructor(readonly ctx: Context) {} }`, options: [{ allowClasses: ['Session'] }] },
    head + `export function f(ctx: Context) { const local = ctx; return local; }`,
  ],
  invalid: [
    {
      code: head + `export class Repo { constructor(private ctx: Context) {} find(id: string) { return [this.ctx, id]; } }`,
      errors: [{ messageId: 'field', data: { what: 'A Context', name: 'ctx', cls: 'Repo' } }],
    },
    {
      code: head + `export class Client { signal?: AbortSignal; }`,
      errors: [{ messageId: 'field', data: { what: 'An AbortSignal', name: 'signal', cls: 'Client' } }],
    },
    { code: head + `export const appCtx = background();`, errors: [{ messageId: 'module', data: { what: 'A Context', name: 'appCtx' } }] },
    {
      code: head + `let current: Context | undefined;\nexport function set(c: Context) { current = c; return current; }`,
      errors: [{ messageId: 'module' }],
    },
    {
      code: head + `export class UploadJob { constructor(readonly ctx: Context) {} }`,
      options: [{ allowClasses: [] }],
      errors: [{ messageId: 'field' }],
    },
  ],
});

runRule(untypedTester(), 'no-context-in-field (JavaScript)', rule, {
  valid: [`export class A { run(ctx) { return ctx; } }`],
  invalid: [
    {
      code: `export class A { start(ctx) { this.ctx = ctx; } }`,
      errors: [{ messageId: 'field', data: { what: 'A Context', name: 'ctx', cls: 'A' } }],
    },
  ],
});
