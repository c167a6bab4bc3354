// A queued upload: each instance is one operation, so it carries that operation's context.
import { isContextError, type Context } from '@ctxkit/core';

export class UploadJob {
  attempts = 0;
  constructor(readonly ctx: Context, readonly path: string, readonly bytes: Uint8Array) {}

  async run(endpoint: string): Promise<void> {
    this.attempts++;
    try {
      const res = await fetch(`${endpoint}/${this.path}`, { method: 'PUT', body: this.bytes, signal: this.ctx.signal });
      if (!res.ok) throw new Error(`upload ${this.path}: ${res.status}`);
    } catch (e) {
      if (isContextError(e)) throw e;
      throw new Error(`upload ${this.path} failed after ${this.attempts} attempt(s)`, { cause: e });
    }
  }
}
