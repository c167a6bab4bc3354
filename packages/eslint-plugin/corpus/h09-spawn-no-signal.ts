// set: holdout
// PDF rendering through a headless tool, started without the job's signal.
import { spawn } from 'node:child_process';
import type { Context } from '@ctxkit/core';

export function renderPdf(ctx: Context, html: string, out: string): Promise<void> {
  ctx.throwIfDone();
  return new Promise((resolve, reject) => {
    const proc = spawn('wkhtmltopdf', ['-', out], { stdio: ['pipe', 'ignore', 'inherit'] }); // expect: pass-context
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`wkhtmltopdf exited ${code}`))));
    proc.stdin.end(html);
  });
}
