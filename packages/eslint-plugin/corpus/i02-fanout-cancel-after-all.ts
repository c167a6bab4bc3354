// set: independent
// Loads a dashboard's widgets in parallel under a child scope so the siblings can be stopped —
// but cancel() only runs when every widget succeeded; a rejection skips it.
import { withCancel, type Context } from '@ctxkit/core';

interface Widget { id: string; kind: string }

async function loadWidget(ctx: Context, id: string): Promise<Widget> {
  const res = await fetch(`http://widgets.internal/w/${id}`, { signal: ctx.signal });
  if (!res.ok) throw new Error(`widget ${id}: HTTP ${res.status}`);
  return (await res.json()) as Widget;
}

export async function loadDashboard(ctx: Context, widgetIds: string[]): Promise<Widget[]> {
  const { ctx: fan, cancel } = withCancel(ctx); // expect: lost-cancel
  const widgets = await Promise.all(widgetIds.map((id) => loadWidget(fan, id)));
  cancel();
  return widgets;
}
