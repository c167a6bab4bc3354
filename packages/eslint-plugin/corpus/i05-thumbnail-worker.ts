// set: independent
// Thumbnail worker: receives the job's AbortSignal, but neither the source read nor the
// ImageMagick process is tied to it — a cancelled job keeps convert running.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface ThumbJob { id: string; src: string; dest: string; width: number }

export async function makeThumbnail(job: ThumbJob, signal: AbortSignal): Promise<number> {
  const meta = JSON.parse(await readFile(`${job.src}.json`, 'utf8')) as { rotate?: number }; // expect: pass-context
  const args = [job.src, '-auto-orient', '-rotate', String(meta.rotate ?? 0), '-thumbnail', `${job.width}x`, job.dest];
  await execFileAsync('convert', args); // expect: pass-context
  await writeFile(`${job.dest}.done`, job.id, { signal });
  return job.width;
}
