// A background worker that owns its context: made in the constructor, ended by stop().
import { withCancel, sleep, isContextError, type CancelScope, type Context } from '@ctxkit/core';

export class MetricsFlusher {
  private readonly scope: CancelScope;
  private running: Promise<void> | undefined;

  constructor(parent: Context, private readonly url: string, private readonly everyMs: number) {
    this.scope = withCancel(parent);
  }

  start(): void {
    this.running ??= this.loop(this.scope.ctx);
  }

  async stop(): Promise<void> {
    this.scope.cancel();
    await this.running;
  }

  private async loop(ctx: Context): Promise<void> {
    try {
      for (;;) {
        await sleep(ctx, this.everyMs);
        await fetch(this.url, { method: 'POST', body: '[]', signal: ctx.signal });
      }
    } catch (e) {
      if (!isContextError(e)) throw e;
    }
  }
}
