// Builds its own timeout with an AbortController that ignores the caller's context.
import type { Context } from '@ctxkit/core';

export async function fetchAvatar(ctx: Context, userId: string): Promise<Blob> {
  const controller = new AbortController(); // expect: no-background-in-scope
  const timer = setTimeout(() => controller.abort(), 3_000);
  try {
    const res = await fetch(`https://cdn.example.com/avatars/${userId}`, { signal: controller.signal });
    return await res.blob();
  } finally {
    clearTimeout(timer);
  }
}
