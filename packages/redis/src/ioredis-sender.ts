/**
 * How the ioredis adapter hands commands to one ioredis client so that a command whose context
 * ended before it was written is never written. ioredis writes a command to its socket as soon as
 * it is connected (the socket's buffer is its only backpressure queue, and nothing can be taken
 * back out of it), and keeps commands in its `offlineQueue` while it is not. So:
 *
 * - While the client's socket accepts writes (`writableNeedDrain` false), a command is handed to
 *   `client.sendCommand` at once; from then on it is "written" (in the socket's buffer or beyond).
 * - While the socket is backed up, commands wait in the sender's own backlog, in order, and are
 *   handed over on `drain` (or when the socket closes: ioredis then queues them offline). A
 *   waiting command whose context ends is dropped from the backlog: never written, payload freed.
 * - A command in ioredis's `offlineQueue` (not connected yet, reconnecting) whose context ends is
 *   removed from it; likewise from the queue of unanswered commands ioredis re-sends after a
 *   reconnect (`prevCommandQueue`). A command cancelled after it was written is remembered until
 *   its reply arrives, so that if the connection drops first it is not re-sent.
 * - A written command is never withdrawn: its reply is read by ioredis (FIFO) and discarded.
 *
 * Units of work are groups of `Command`s that stay together (one command, or every command of a
 * pipeline): they are withdrawn all or none.
 */
import type { Redis } from 'ioredis';
import type { Command } from 'ioredis';

/** @internal ioredis internals the sender reads (stable across ioredis 5 and 6). */
interface QueueItem {
  command: Command;
}
interface Deque<T> {
  readonly length: number;
  peekAt(i: number): T | undefined;
  remove(i: number, count: number): unknown;
}
interface ClientInternals {
  status: string;
  stream?: { writableNeedDrain?: boolean; once(e: string, fn: () => void): unknown; off(e: string, fn: () => void): unknown };
  offlineQueue?: Deque<QueueItem>;
  prevCommandQueue?: Deque<QueueItem> | null;
}

/** @internal One unit of work the sender hands to the client when its turn comes. */
export interface Sendable {
  /** Hands the work to the client (calls `sendCommand` for each of its commands). */
  send(): void;
  /** True once dropped from the backlog (its context ended): never sent. */
  dropped: boolean;
  /** True once `send()` ran. */
  handed: boolean;
}

/** @internal Where a unit of work was when its context ended. */
export enum Withdrawn {
  /** Never handed to ioredis, or removed from its queues: nothing written, nothing owed. */
  Yes,
  /** Written (or being written): the reply is still owed and will be discarded. */
  No,
}

/** @internal See the module's rules. One per wrapped client. */
export class IoredisSender {
  private backlog: Sendable[] = [];
  private head = 0;
  private armed: ClientInternals['stream'] | undefined;
  /** Commands cancelled after they were written, until their reply arrives. */
  private readonly owed = new Set<Command>();
  private readonly internals: ClientInternals;
  private readonly onFlush = (): void => this.flush();
  private readonly onClose = (): void => this.scrubResend();

  constructor(readonly client: Redis) {
    this.internals = client as unknown as ClientInternals;
    client.on('close', this.onClose);
  }

  /** Hands `work` over now, or keeps it in the backlog while the socket is backed up. */
  submit(work: Sendable): void {
    if (this.head === this.backlog.length && !this.backedUp()) {
      work.handed = true;
      work.send();
      return;
    }
    this.backlog.push(work);
    this.arm();
  }

  /**
   * Takes `work` back after its context ended (`commands` are its commands once handed): from the
   * backlog, or from ioredis's offline / re-send queues when every one of them is still there.
   * Returns whether it was withdrawn; if not, its commands are remembered as owed until replied.
   */
  withdraw(work: Sendable, commands: readonly Command[]): Withdrawn {
    if (!work.handed) {
      work.dropped = true;
      this.compact();
      return Withdrawn.Yes;
    }
    const c = this.internals;
    if (removeAll(c.offlineQueue, commands) || removeAll(c.prevCommandQueue ?? undefined, commands)) return Withdrawn.Yes;
    for (const cmd of commands) {
      this.owed.add(cmd);
      const forget = (): void => {
        this.owed.delete(cmd);
      };
      cmd.promise.then(forget, forget);
    }
    return Withdrawn.No;
  }

  /** Commands cancelled after they were written whose reply has not arrived yet. */
  get owedCount(): number {
    return this.owed.size;
  }

  /** Units of work waiting in the backlog. */
  get waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.backlog.length; i++) if (!this.backlog[i]!.dropped) n++;
    return n;
  }

  /** Stops listening to the client. Work still in the backlog is handed over first. */
  detach(): void {
    this.disarm();
    this.flush(true);
    this.client.off('close', this.onClose);
  }

  private backedUp(): boolean {
    const c = this.internals;
    return c.status === 'ready' && c.stream?.writableNeedDrain === true;
  }

  private arm(): void {
    const s = this.internals.stream;
    if (s === undefined || this.armed === s) return;
    this.disarm();
    this.armed = s;
    s.once('drain', this.onFlush);
    s.once('close', this.onFlush);
  }

  private disarm(): void {
    const s = this.armed;
    if (s === undefined) return;
    this.armed = undefined;
    s.off('drain', this.onFlush);
    s.off('close', this.onFlush);
  }

  private flush(all = false): void {
    this.disarm();
    const q = this.backlog;
    while (this.head < q.length) {
      if (!all && this.backedUp()) {
        this.arm();
        break;
      }
      const w = q[this.head]!;
      q[this.head++] = undefined as unknown as Sendable;
      if (w.dropped) continue;
      w.handed = true;
      w.send();
    }
    if (this.head === q.length) {
      this.backlog = [];
      this.head = 0;
    }
  }

  /** Drops dropped entries at the front, and compacts a mostly-dropped backlog. */
  private compact(): void {
    const q = this.backlog;
    while (this.head < q.length && q[this.head]!.dropped) q[this.head++] = undefined as unknown as Sendable;
    if (this.head === q.length) {
      this.backlog = [];
      this.head = 0;
      this.disarm();
      return;
    }
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.backlog = q.slice(this.head);
      this.head = 0;
    }
  }

  /** The connection closed: owed commands must not be re-sent after the reconnect. */
  private scrubResend(): void {
    if (this.owed.size === 0) return;
    const prev = this.internals.prevCommandQueue;
    if (prev == null) return;
    for (let i = 0; i < prev.length; ) {
      const cmd = prev.peekAt(i)!.command;
      if (this.owed.has(cmd)) {
        prev.remove(i, 1);
        this.owed.delete(cmd);
        cmd.reject(new Error('ioredis: connection lost; the command was cancelled and is not re-sent'));
      } else i++;
    }
  }
}

/**
 * Removes every one of `commands` from `q` when all of them are there (scanning from the front,
 * where commands whose contexts end first usually are); otherwise removes nothing.
 */
function removeAll(q: Deque<QueueItem> | undefined, commands: readonly Command[]): boolean {
  if (q === undefined || q.length === 0) return false;
  const first = commands[0];
  let i = 0;
  for (; i < q.length; i++) if (q.peekAt(i)!.command === first) break;
  if (i === q.length) return false;
  // A group's commands are queued contiguously, in order.
  for (let k = 1; k < commands.length; k++) if (q.peekAt(i + k)?.command !== commands[k]) return false;
  q.remove(i, commands.length);
  return true;
}
