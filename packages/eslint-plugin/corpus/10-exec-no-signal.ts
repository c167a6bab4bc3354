// Thumbnail generation shells out to ImageMagick; the process outlives a cancelled request.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Context } from '@ctxkit/core';

const run = promisify(execFile);

export async function thumbnail(ctx: Context, input: string, output: string): Promise<void> {
  ctx.throwIfDone();
  await run('convert', [input, '-resize', '256x256', output], { maxBuffer: 1 << 20 }); // expect: pass-context
}
