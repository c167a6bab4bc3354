// Copies an object from storage to disk; the copy stops when the context ends.
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { Context } from '@ctxkit/core';

export async function download(ctx: Context, url: string, path: string): Promise<void> {
  const res = await fetch(url, { signal: ctx.signal });
  if (!res.ok || !res.body) throw new Error(`download ${url}: ${res.status}`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(path), { signal: ctx.signal });
}
