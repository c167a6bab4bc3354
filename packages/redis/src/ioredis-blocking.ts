/**
 * Blocking commands (BLPOP, XREAD BLOCK, WAIT, …) for the ioredis adapter, on dedicated
 * connections that a cancel unblocks on the server.
 *
 * Rules:
 * - Each call leases a connection from a `LeasePool` of `client.duplicate()`s (made on demand,
 *   each with its `CLIENT ID` read once connected; no reconnects, no re-sends). The wrapped client's
 *   own connection never blocks.
 * - The server-side timeout is clamped to the remaining budget plus `blockingTimeoutMarginMs`
 *   (`clampBlockingArgs`), so the server stops blocking even if this process dies.
 * - When the context ends while the command is blocked, the call rejects with `ctx.err` at once;
 *   a control connection sends `CLIENT UNBLOCK <id>` (again, 5 → 80 ms apart, while the server
 *   says the connection was not blocked yet — the command may still be on its way). The connection
 *   goes back to the pool once the command's reply (nil, or an element that arrived just before)
 *   has been read, or is closed if that takes longer than `cleanupTimeoutMs`.
 * - A connection whose command failed with anything but a Redis reply error (closed, reset) is
 *   closed, never reused.
 */
import { type Context, getClock, operation, remaining } from '@ctxkit/core';
import type { Command, Redis } from 'ioredis';
import type { CommandClass } from './ioredis-command.js';
import { clampBlockingArgs, type RedisArg } from './blocking-plan.js';
import { LeasePool } from './lease-pool.js';
import { budgetTooShort, type ResolvedRedisOptions } from './options.js';

/** @internal A dedicated connection and its server-side id. */
export interface BlockingConnection {
  readonly client: Redis;
  readonly id: number;
}

function suffixed(client: Redis, suffix: string): string | undefined {
  const base = client.options.connectionName;
  return base ? `${base}:${suffix}` : undefined;
}

async function openDuplicate(client: Redis, suffix: string): Promise<Redis> {
  const c = client.duplicate({
    lazyConnect: true,
    connectionName: suffixed(client, suffix),
    enableOfflineQueue: true,
    autoResendUnfulfilledCommands: false,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: false,
  });
  // A connection error is reported through connect()'s rejection; keep it off 'error'.
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    c.disconnect();
    throw e;
  }
  return c;
}

/** @internal The blocking side of one wrapped client: pool, control connection, calls. */
export class IoredisBlocking {
  readonly pool: LeasePool<BlockingConnection>;
  private control: Promise<Redis> | undefined;
  private closed = false;

  constructor(
    private readonly client: Redis,
    private readonly o: ResolvedRedisOptions,
    readonly Command: CommandClass,
  ) {
    this.pool = new LeasePool<BlockingConnection>(
      o.blockingPoolSize,
      {
        create: async () => {
          void this.controlConnection().catch(() => {});
          const c = await openDuplicate(client, 'blocking');
          try {
            const id = Number(await c.client('ID'));
            return { client: c, id };
          } catch (e) {
            c.disconnect();
            throw e;
          }
        },
        destroy: (conn) => conn.client.disconnect(),
      },
      'redis blocking',
    );
  }

  /** Runs `name args` on a dedicated connection, bound to `ctx` (see the module's rules). */
  run(ctx: Context, name: string, label: string, args: readonly RedisArg[], encoding: 'utf8' | null): Promise<unknown> {
    return operation<unknown>(ctx, label, (settle) => {
      const floor = budgetTooShort(ctx, name.toUpperCase(), this.o);
      if (floor !== undefined) {
        settle.reject(floor);
        return;
      }
      const call = new BlockingCall(this, ctx, name, args, encoding, settle.resolve.bind(settle), settle.reject.bind(settle));
      call.start();
      return call;
    });
  }

  /** The shared control connection, made on first use. */
  controlConnection(): Promise<Redis> {
    if (this.closed) return Promise.reject(new Error('redis blocking: closed'));
    if (this.control === undefined) {
      this.control = openDuplicate(this.client, 'control');
      this.control.catch(() => {
        this.control = undefined;
      });
    }
    return this.control;
  }

  /** @internal Acquire a live connection (a dead idle one is discarded and replaced). */
  async acquire(ctx: Context): Promise<BlockingConnection> {
    for (;;) {
      const conn = await this.pool.acquire(ctx);
      if (conn.client.status === 'ready') return conn;
      this.pool.discard(conn);
    }
  }

  get cleanupTimeoutMs(): number {
    return this.o.cleanupTimeoutMs;
  }

  get marginMs(): number {
    return this.o.blockingTimeoutMarginMs;
  }

  /** Closes the pool and the control connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    const control = this.control;
    this.control = undefined;
    if (control !== undefined) await control.then((c) => c.disconnect()).catch(() => {});
  }
}

const UNBLOCK_RETRY_MS = [5, 10, 20, 40, 80];

/** One blocking command: lease, send, and on cancel unblock and give the connection back. */
class BlockingCall {
  private conn: BlockingConnection | undefined;
  private cmd: Command | undefined;
  private ended = false;
  private replied = false;
  private timer: unknown;
  private retry: unknown;

  constructor(
    private readonly owner: IoredisBlocking,
    private readonly ctx: Context,
    private readonly name: string,
    private readonly args: readonly RedisArg[],
    private readonly encoding: 'utf8' | null,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  start(): void {
    this.owner.acquire(this.ctx).then(
      (conn) => this.send(conn),
      (e: unknown) => this.reject(e),
    );
  }

  private send(conn: BlockingConnection): void {
    if (this.ended) {
      this.owner.pool.release(conn);
      return;
    }
    this.conn = conn;
    const args = clampBlockingArgs(this.name, this.args, remaining(this.ctx), this.owner.marginMs);
    const cmd = new this.owner.Command(
      this.name,
      args as RedisArg[],
      {
        replyEncoding: this.encoding,
        keyPrefix: conn.client.options.keyPrefix,
      } as never,
    );
    this.cmd = cmd;
    cmd.promise.then(
      (v: unknown) => this.settled(true, v),
      (e: unknown) => this.settled(false, e),
    );
    conn.client.sendCommand(cmd);
  }

  private settled(ok: boolean, v: unknown): void {
    const conn = this.conn;
    this.conn = undefined;
    this.replied = true;
    const clock = getClock();
    clock.clearTimer(this.timer);
    clock.clearTimer(this.retry);
    // After giveUp() the connection is already closed and this is its closing error.
    if (conn === undefined) return;
    if (ok || (v instanceof Error && v.name === 'ReplyError')) this.owner.pool.release(conn);
    else this.owner.pool.discard(conn);
    if (ok) this.resolve(v);
    else this.reject(v);
  }

  /** The context ended: reject now (by returning nothing); unblock and reclaim in the background. */
  cancel(): void {
    this.ended = true;
    if (this.cmd === undefined || this.replied) return;
    this.timer = getClock().setTimer(() => this.giveUp(), this.owner.cleanupTimeoutMs, false);
    this.unblock(0);
  }

  private unblock(attempt: number): void {
    if (this.replied) return;
    const conn = this.conn!;
    this.owner
      .controlConnection()
      .then((control) => control.client('UNBLOCK', conn.id))
      .then(
        (n) => {
          if (this.replied || Number(n) === 1) return;
          const wait = UNBLOCK_RETRY_MS[Math.min(attempt, UNBLOCK_RETRY_MS.length - 1)]!;
          this.retry = getClock().setTimer(() => this.unblock(attempt + 1), wait, false);
        },
        () => this.giveUp(),
      );
  }

  private giveUp(): void {
    const conn = this.conn;
    if (this.replied || conn === undefined) return;
    this.replied = true;
    this.conn = undefined;
    getClock().clearTimer(this.timer);
    getClock().clearTimer(this.retry);
    this.owner.pool.discard(conn);
  }
}
