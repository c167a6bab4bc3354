// Streams an upload to disk with gzip; nothing stops the copy when the request is cancelled.
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Context } from '@ctxkit/core';

export async function storeUpload(ctx: Context, body: Readable, path: string): Promise<void> {
  ctx.throwIfDone();
  await pipeline(body, createGzip(), createWriteStream(path)); // expect: pass-context
}
