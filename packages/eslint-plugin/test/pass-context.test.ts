import rule from '../src/rules/pass-context.js';
import { runRule, typedTester, untypedTester } from './tester.js';

const head = `import { background, todo, withTimeout, withoutCancel, sleep, type Context } from '@ctxkit/core';\n`;
const load = `\ndeclare function loadUser(ctx: Context, id: string): Promise<string>;`;

runRule(typedTester(), 'pass-context', rule, {
  valid: [
    head + `export async function f(ctx: Context) { return fetch('http://x', { signal: ctx.signal }); }`,
    head + `export async function f(ctx: Context) { await sleep(ctx, 10); return loadUser(ctx, 'a'); }` + load,
    head + `export async function f(ctx: Context) { using s = withTimeout(ctx, 10); return loadUser(s.ctx, 'a'); }` + load,
    head +
      `export async function f(ctx: Context) { const { ctx: c, cancel } = withTimeout(ctx, 10); try { return await fetch('u', { signal: c.signal }); } finally { cancel(); } }`,
    head + `export async function f(ctx: Context) { return loadUser(withoutCancel(ctx), 'a'); }` + load,
    // no context in scope: nothing to pass
    head + `export async function f() { return fetch('http://x'); }`,
    // an options object we cannot see into
    head + `export async function f(ctx: Context, init: RequestInit) { return fetch('http://x', init); }`,
    // another signal the caller chose (e.g. the request's own)
    head + `export async function f(ctx: Context, req: Request) { return fetch('http://x', { signal: req.signal }); }`,
    // addEventListener's signal is about listener removal
    `export function f(signal: AbortSignal, t: EventTarget) { t.addEventListener('x', () => {}); return signal; }`,
    // a Map of contexts is a container, not an API
    head + `export function f(ctx: Context, m: Map<string, Context>, other: Context) { m.set('a', other); return ctx; }`,
    `import { setTimeout as delay } from 'node:timers/promises';\nexport async function f(signal: AbortSignal) { await delay(10, undefined, { signal }); }`,
    // readline over a stream that carries the signal: the interface ends with its input
    `import { createReadStream } from 'node:fs';\nimport { createInterface } from 'node:readline';\nexport function f(path: string, signal: AbortSignal) { return createInterface({ input: createReadStream(path, { signal }) }); }`,
    // the promisified execFile given its signal through the overload with options
    `import { execFile } from 'node:child_process';\nimport { promisify } from 'node:util';\nconst run = promisify(execFile);\nexport async function f(signal: AbortSignal) { return run('ls', ['-l'], { signal }); }`,
  ],
  invalid: [
    {
      code: head + `export async function f(ctx: Context) { return fetch('http://x'); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: head + `export async function f(ctx: Context) { return fetch('http://x', { signal: ctx.signal }); }`,
            },
          ],
        },
      ],
    },
    {
      code: head + `export async function f(ctx: Context) { return fetch('http://x', { method: 'POST' }); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: head + `export async function f(ctx: Context) { return fetch('http://x', { method: 'POST', signal: ctx.signal }); }`,
            },
          ],
        },
      ],
    },
    {
      code: head + `export async function f(ctx: Context) { return loadUser(background(), 'a'); }` + load,
      errors: [
        {
          messageId: 'fresh',
          suggestions: [
            { messageId: 'passContext', output: head + `export async function f(ctx: Context) { return loadUser(ctx, 'a'); }` + load },
          ],
        },
      ],
    },
    {
      code: head + `export async function f(ctx: Context) { return loadUser(todo(), 'a'); }` + load,
      errors: [
        {
          messageId: 'fresh',
          suggestions: [
            { messageId: 'passContext', output: head + `export async function f(ctx: Context) { return loadUser(ctx, 'a'); }` + load },
          ],
        },
      ],
    },
    {
      code: head + `export async function f(signal: AbortSignal) { return fetch('http://x', { signal: AbortSignal.timeout(100) }); }`,
      errors: [
        {
          messageId: 'fresh',
          suggestions: [
            {
              messageId: 'passContext',
              output: head + `export async function f(signal: AbortSignal) { return fetch('http://x', { signal: signal }); }`,
            },
          ],
        },
      ],
    },
    {
      // a closure inside a function with a context
      code: head + `export async function f(ctx: Context, ids: string[]) { return Promise.all(ids.map((id) => fetch('/u/' + id))); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output:
                head +
                `export async function f(ctx: Context, ids: string[]) { return Promise.all(ids.map((id) => fetch('/u/' + id, { signal: ctx.signal }))); }`,
            },
          ],
        },
      ],
    },
    {
      code: `import { readFile } from 'node:fs/promises';\nexport async function f(opts: { signal?: AbortSignal }, p: string) { return readFile(p, 'utf8'); }`,
      errors: [{ messageId: 'missing' }],
    },
    {
      code: `import { once } from 'node:events';\nimport type { EventEmitter } from 'node:events';\nexport async function f(signal: AbortSignal, ee: EventEmitter) { await once(ee, 'ready'); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: `import { once } from 'node:events';\nimport type { EventEmitter } from 'node:events';\nexport async function f(signal: AbortSignal, ee: EventEmitter) { await once(ee, 'ready', { signal: signal }); }`,
            },
          ],
        },
      ],
    },
    {
      code: `import { execFile } from 'node:child_process';\nexport function f(signal: AbortSignal) { return execFile('ls', ['-l'], { cwd: '/' }); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: `import { execFile } from 'node:child_process';\nexport function f(signal: AbortSignal) { return execFile('ls', ['-l'], { cwd: '/', signal: signal }); }`,
            },
          ],
        },
      ],
    },
    // promisify(execFile)(file, args) resolves to an overload without options; (file, args, { signal }) exists
    {
      code: `import { execFile } from 'node:child_process';\nimport { promisify } from 'node:util';\nconst run = promisify(execFile);\nexport async function f(signal: AbortSignal) { return run('ls', ['-l']); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: `import { execFile } from 'node:child_process';\nimport { promisify } from 'node:util';\nconst run = promisify(execFile);\nexport async function f(signal: AbortSignal) { return run('ls', ['-l'], { signal: signal }); }`,
            },
          ],
        },
      ],
    },
  ],
});

runRule(untypedTester(), 'pass-context (no type information)', rule, {
  valid: [
    `export async function f(ctx) { return fetch('http://x', { signal: ctx.signal }); }`,
    `export async function f() { return fetch('http://x'); }`,
  ],
  invalid: [
    {
      code: `export async function f(ctx) { return fetch('http://x'); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            { messageId: 'passSignal', output: `export async function f(ctx) { return fetch('http://x', { signal: ctx.signal }); }` },
          ],
        },
      ],
    },
    {
      code: `import { request } from 'undici';\nexport async function f(signal) { return request('http://x', { method: 'GET' }); }`,
      errors: [
        {
          messageId: 'missing',
          suggestions: [
            {
              messageId: 'passSignal',
              output: `import { request } from 'undici';\nexport async function f(signal) { return request('http://x', { method: 'GET', signal: signal }); }`,
            },
          ],
        },
      ],
    },
  ],
});
