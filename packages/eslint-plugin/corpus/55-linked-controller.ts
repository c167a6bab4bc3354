// A library wants an AbortController; link it to the context with afterFunc and unlink when done.
import { afterFunc, type Context } from '@ctxkit/core';

interface Uploader { upload(file: string, controller: AbortController): Promise<string> }

export async function uploadFile(ctx: Context, uploader: Uploader, file: string): Promise<string> {
  const controller = new AbortController();
  const stop = afterFunc(ctx, () => controller.abort(ctx.err));
  try {
    return await uploader.upload(file, controller);
  } finally {
    stop();
  }
}
