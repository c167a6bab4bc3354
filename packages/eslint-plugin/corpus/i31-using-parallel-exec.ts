// set: independent
// Media probe: ffprobe runs on every input in parallel under one 20 s budget declared with
// `using`; each child process gets the scope's signal.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { withTimeout, type Context } from '@ctxkit/core';

const execFileAsync = promisify(execFile);

export async function probeDurations(ctx: Context, files: string[]): Promise<number[]> {
  using probe = withTimeout(ctx, 20_000);
  const outputs = await Promise.all(
    files.map((f) =>
      execFileAsync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', f], { signal: probe.ctx.signal }),
    ),
  );
  return outputs.map((o) => Number.parseFloat(o.stdout));
}
