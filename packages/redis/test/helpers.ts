// Shared by the @ctxkit/redis test files: find the machine's Redis (REDIS_URL overrides
// redis://127.0.0.1:6379) without depending on either client, and a bounded poll of server state
// — never a blind sleep.
import { connect } from 'node:net';

/** The Redis URL the tests use. */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function ping(url: string, timeoutMs: number): Promise<void> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port || 6379) });
    const timer = setTimeout(() => socket.destroy(new Error(`no reply from ${url} within ${timeoutMs} ms`)), timeoutMs);
    let got = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: string) => {
      got += d;
      if (!got.includes('\r\n')) return;
      clearTimeout(timer);
      socket.end();
      // -NOAUTH still proves a server is there; the client under test reports auth itself.
      if (got.startsWith('+PONG') || got.startsWith('-NOAUTH')) resolve();
      else reject(new Error(`unexpected reply from ${url}: ${JSON.stringify(got.slice(0, 80))}`));
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * The Redis URL for `suite`, or undefined (after a loud line on stderr) when no server answers
 * locally. Under CI=true a missing server throws, so the suite fails instead of skipping.
 */
export async function openTestRedis(suite: string): Promise<string | undefined> {
  try {
    await ping(REDIS_URL, 2000);
    return REDIS_URL;
  } catch (e) {
    if (process.env['CI'] === 'true') throw new Error(`${suite}: Redis at ${REDIS_URL} is required under CI=true`, { cause: e });
    process.stderr.write(`\n!!!!!!!! ${suite}: SKIPPED — no Redis at ${REDIS_URL}: ${e instanceof Error ? e.message : String(e)}\n\n`);
    return undefined;
  }
}

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A unique connection name for one test file's clients, so `CLIENT LIST` checks see only them. */
export function clientName(tag: string): string {
  return `ctxkit-redis-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
