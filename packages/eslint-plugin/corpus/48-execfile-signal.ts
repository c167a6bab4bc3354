// Runs git with the operation's signal, so a cancelled request kills the process.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Context } from '@ctxkit/core';

const run = promisify(execFile);

export async function lastCommit(ctx: Context, repo: string): Promise<string> {
  const { stdout } = await run('git', ['-C', repo, 'log', '-1', '--format=%H'], { signal: ctx.signal });
  return stdout.trim();
}
