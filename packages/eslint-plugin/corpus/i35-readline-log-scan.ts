// set: independent
// Scans an access log line by line; the file stream is opened with the caller's signal, so
// cancelling destroys the stream and ends the loop.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export async function countStatus(path: string, status: number, signal: AbortSignal): Promise<number> {
  const input = createReadStream(path, { encoding: 'utf8', signal });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    if (line.split(' ')[8] === String(status)) n++;
  }
  return n;
}
