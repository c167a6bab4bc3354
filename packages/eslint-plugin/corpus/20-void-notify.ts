// Marks the notification as "deliberately not awaited" with void, but it still runs on the request context.
import type { Context } from '@ctxkit/core';

async function notifyFollowers(ctx: Context, authorId: string, postId: string): Promise<void> {
  await fetch(`http://notify.internal/followers/${authorId}`, {
    method: 'POST',
    body: JSON.stringify({ postId }),
    signal: ctx.signal,
  });
}

export async function publishPost(ctx: Context, authorId: string, postId: string): Promise<void> {
  await fetch(`http://posts.internal/${postId}/publish`, { method: 'POST', signal: ctx.signal });
  void notifyFollowers(ctx, authorId, postId); // expect: no-floating-work
}
