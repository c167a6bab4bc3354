/**
 * The demo's PostgreSQL: found or started by @ctxkit/pg's `startTestDatabase` (DATABASE_URL, else
 * 127.0.0.1:5432, else an embedded server), and a probe that watches `pg_stat_activity` to see,
 * from the server's side, how long statements kept running for clients that had left.
 */
import pg from 'pg';
import { startTestDatabase, type TestDatabase } from '@ctxkit/pg/testing';
import type { Meter } from './meter.js';

/**
 * Every demo statement starts with this comment, carrying the twin and the request id. The
 * process id keeps two demos on one database (two test files, a test and `npm start`) from
 * counting each other's statements.
 */
export const TAG = `ctxkit-demo pid=${process.pid}`;

/** The statement text the back service runs for request `id` (a real, sleeping SELECT). */
export function statement(twin: string, id: string): string {
  return `/* ${TAG} twin=${twin} id=${id} */ SELECT pg_sleep($1::float8 / 1000) AS slept, $2::int AS id`;
}

/** Where to look for PostgreSQL: 'auto' = DATABASE_URL, else 127.0.0.1:5432, else embedded. */
export type DatabaseChoice = 'auto' | 'embedded';

/** Finds or starts PostgreSQL; undefined (with `why`) when none can be had. */
export async function openDatabase(choice: DatabaseChoice, log: (line: string) => void): Promise<{ db?: TestDatabase; why?: string }> {
  try {
    return { db: await startTestDatabase({ log, ...(choice === 'embedded' && { sources: ['embedded'] }) }) };
  } catch (e) {
    return { why: e instanceof Error ? e.message : String(e) };
  }
}

interface Seen {
  /** Statement start, in the meter's time base (estimated from the server's query_start). */
  start: number;
  /** Last sample (meter time) at which the statement was still active. */
  lastSeen: number;
}

/**
 * Samples `pg_stat_activity` over its own connection every `sampleMs`, keeping, per request id,
 * when its statement started and when it was last seen running. Server-side truth: a statement
 * the application gave up on but the server kept running is seen here.
 */
export class DbProbe {
  private readonly client: pg.Client;
  private timer: ReturnType<typeof setInterval> | undefined;
  private busy = false;
  private readonly seen = new Map<string, Seen>();
  private peak = 0;

  constructor(
    connectionString: string,
    private readonly twin: string,
    private readonly meter: Meter,
    private readonly graceMs: number,
  ) {
    this.client = new pg.Client({ connectionString, application_name: 'ctxkit-demo-probe' });
    this.client.on('error', () => {});
  }

  /** Connects and starts sampling. */
  async start(sampleMs: number): Promise<void> {
    await this.client.connect();
    this.timer = setInterval(() => void this.sample(), sampleMs);
  }

  /** Takes one sample now (skipped when the previous one is still running). */
  async sample(): Promise<number> {
    if (this.busy) return -1;
    this.busy = true;
    try {
      const r = await this.client.query<{ query: string; elapsed_ms: number }>(
        `SELECT query, extract(epoch FROM clock_timestamp() - query_start) * 1000 AS elapsed_ms
           FROM pg_stat_activity
          WHERE state = 'active' AND pid <> pg_backend_pid() AND query LIKE $1`,
        [`/* ${TAG} twin=${this.twin} id=%`],
      );
      const now = this.meter.now();
      let zombies = 0;
      for (const row of r.rows) {
        const m = / id=(\d+) /.exec(row.query);
        if (!m) continue;
        const id = m[1]!;
        const s = this.seen.get(id);
        if (s) s.lastSeen = now;
        else this.seen.set(id, { start: now - Number(row.elapsed_ms), lastSeen: now });
        const left = this.meter.abandonedAt.get(id);
        if (left !== undefined && now - left > this.graceMs) zombies++;
      }
      this.peak = Math.max(this.peak, zombies);
      return r.rows.length;
    } finally {
      this.busy = false;
    }
  }

  /** Statements of this twin running in the server right now (a fresh sample). */
  async activeNow(): Promise<number> {
    while (this.busy) await new Promise((r) => setImmediate(r));
    return this.sample();
  }

  /** Peak number of statements running for clients gone for over `graceMs`. */
  get peakZombieStatements(): number {
    return this.peak;
  }

  /** Server time (ms, to sample resolution) statements ran after their client had left, summed. */
  msAfterLeft(): number {
    let total = 0;
    for (const [id, s] of this.seen) {
      const left = this.meter.abandonedAt.get(id);
      if (left !== undefined) total += Math.max(0, s.lastSeen - Math.max(s.start, left));
    }
    return total;
  }

  /** Stops sampling and closes the probe's connection. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    while (this.busy) await new Promise((r) => setImmediate(r));
    await this.client.end().catch(() => {});
  }
}
