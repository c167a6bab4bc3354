// set: independent
// After a delete, the audit event is sent deliberately in the background on a detached context
// (its failure logged), and a context-free metrics flush is fire-and-forget with `void`.
import { withoutCancel, type Context } from '@ctxkit/core';

declare const metrics: { increment(name: string): void; flush(): Promise<void> };
declare const log: { error(msg: string, e: unknown): void };

async function audit(ctx: Context, actor: string, action: string): Promise<void> {
  await fetch('http://audit.internal/events', { method: 'POST', body: JSON.stringify({ actor, action }), signal: ctx.signal });
}

export async function deleteProject(ctx: Context, actor: string, projectId: string): Promise<void> {
  const res = await fetch(`http://projects.internal/projects/${projectId}`, { method: 'DELETE', signal: ctx.signal });
  if (!res.ok) throw new Error(`delete ${projectId}: HTTP ${res.status}`);
  audit(withoutCancel(ctx), actor, `project.delete ${projectId}`).catch((e: unknown) => log.error('audit failed', e));
  metrics.increment('projects.deleted');
  void metrics.flush();
}
