// Loads a template from disk inside an operation that has a signal.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function renderTemplate(signal: AbortSignal, dir: string, name: string, vars: Record<string, string>): Promise<string> {
  const text = await readFile(join(dir, `${name}.html`), 'utf8'); // expect: pass-context
  signal.throwIfAborted();
  return text.replace(/\{\{(\w+)\}\}/g, (_, k: string) => vars[k] ?? '');
}
