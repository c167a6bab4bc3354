// Reads a config file with the caller's signal.
import { readFile } from 'node:fs/promises';

export interface Config { port: number; upstream: string }

export async function loadConfig(signal: AbortSignal, path: string): Promise<Config> {
  const text = await readFile(path, { encoding: 'utf8', signal });
  const parsed = JSON.parse(text) as Partial<Config>;
  return { port: parsed.port ?? 8080, upstream: parsed.upstream ?? 'http://localhost:9000' };
}
