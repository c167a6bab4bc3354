// set: holdout
// Video transcode via ffmpeg, killed when the job's context ends.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Context } from '@ctxkit/core';

export async function transcode(ctx: Context, input: string, output: string): Promise<number> {
  const proc = spawn('ffmpeg', ['-i', input, '-c:v', 'libx264', output], { signal: ctx.signal, stdio: 'ignore' });
  const [code] = (await once(proc, 'exit', { signal: ctx.signal })) as [number | null];
  return code ?? -1;
}
