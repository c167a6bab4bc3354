// PostgreSQL for the @ctxkit/http tests that check a request's database work stops on the server:
// find one (or start one) as @ctxkit/pg's own tests do, tag pools with a unique application_name
// so server-side checks see only this file's sessions, and poll pg_stat_activity — bounded, never
// a blind sleep.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';

/**
 * A database for `suite`, or undefined (after a loud line on stderr) when none is available
 * locally. Under CI=true a missing database throws, so the suite fails instead of skipping.
 */
export async function openTestDatabase(suite: string): Promise<TestDatabase | undefined> {
  try {
    return await startTestDatabase();
  } catch (e) {
    if (process.env['CI'] === 'true') throw e;
    process.stderr.write(`\n!!!!!!!! ${suite}: SKIPPED — ${e instanceof Error ? e.message : String(e)}\n\n`);
    return undefined;
  }
}

/** A unique application_name for one test's sessions. */
export function appName(tag: string): string {
  return `ctxkit-http-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function makePool(db: TestDatabase, application_name: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString: db.connectionString, application_name, max });
  pool.on('error', () => {});
  return pool;
}

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface Backend {
  pid: number;
  state: string | null;
  query: string;
}

/** The sessions of `application_name` as the server sees them (the asking session excluded). */
export async function backends(admin: pg.Pool, application_name: string): Promise<Backend[]> {
  const r = await admin.query<Backend>(
    'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [application_name],
  );
  return r.rows;
}

/** Waits until a session of `application_name` is running SQL that contains `needle`. */
export function waitActive(admin: pg.Pool, application_name: string, needle: string): Promise<Backend> {
  return waitFor(`a backend running ${needle}`, async () =>
    (await backends(admin, application_name)).find((b) => b.state === 'active' && b.query.includes(needle)),
  );
}

/** Waits until no session of `application_name` is active; resolves with them all (idle, or none). */
export function waitNoneActive(admin: pg.Pool, application_name: string): Promise<Backend[]> {
  return waitFor(`no active backend of ${application_name}`, async () => {
    const all = await backends(admin, application_name);
    return all.every((b) => b.state !== 'active') ? all : undefined;
  });
}
