/**
 * `consume`: a context per message, from its headers, that ends when its budget ends, its consumer
 * is cancelled (by us or by the broker) or its channel or connection closes; every message is
 * settled exactly once, on `withoutCancel`, on the channel that delivered it.
 */
import {
  background,
  cause,
  describeValue,
  getClock,
  isDeadlineExceeded,
  operation,
  remaining,
  startOperation,
  withCancel,
  withoutCancel,
  withTimeout,
  afterFunc,
  type CancelScope,
  type Context,
} from '@ctxkit/core';
import { extract, InvalidHeaderError } from '@ctxkit/http';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  ChannelClosedError,
  ConnectionClosedError,
  ConsumerCancelledError,
  MessageExpiredError,
  PoisonMessageError,
  SettleFailedError,
} from './errors.js';
import { deliveryCount, expirationBudget, queueTime } from './message-headers.js';
import { resolveConsume, type ConsumeOptions, type ResolvedConsume } from './options.js';

/** A message handler: settles by returning (ack) or throwing (nack/reject per policy). */
export type MessageHandler = (ctx: Context, message: ConsumeMessage) => unknown;

/** A running consumer, from `consume`. */
export interface Consumer {
  /** The broker's consumer tag. */
  readonly consumerTag: string;
  /** Messages whose handler is running or whose settling is pending. */
  readonly inFlight: number;
  /**
   * Resolves once the consumer has stopped (cancelled by `cancel`, by the broker, by `parent`, or
   * its channel closed) and every handler it started has returned and its message been settled.
   * Never rejects.
   */
  readonly done: Promise<void>;
  /**
   * Stops consuming (`basic.cancel`; messages that still arrive are requeued unhandled) and lets
   * the running handlers finish with their contexts live, for as long as `ctx` lasts. Resolves
   * once they all finished and their messages were settled. When `ctx` ends first, the handlers'
   * contexts end (`cause`: `ConsumerCancelledError`, `server: false`), their messages are requeued
   * as they return, and the promise rejects with `ctx.err`. Safe to call more than once, and after
   * the consumer stopped on its own.
   */
  cancel(ctx: Context): Promise<void>;
}

interface EventSource {
  on(event: string, fn: (...a: unknown[]) => void): unknown;
  off(event: string, fn: (...a: unknown[]) => void): unknown;
}

function isEmitter(x: unknown): x is EventSource {
  return x !== null && typeof x === 'object' && typeof (x as EventSource).on === 'function' && typeof (x as EventSource).off === 'function';
}

type Outcome = 'ack' | 'nack' | 'reject';

const OUTCOME_LABEL = { ack: 'amqp.ack', nack: 'amqp.nack', reject: 'amqp.reject' } as const;

class RunningConsumer implements Consumer {
  consumerTag = '';
  inFlight = 0;
  readonly done: Promise<void>;
  _markDone!: () => void;
  /** The parent of every handler context; ends when the consumer stops. */
  readonly _root: CancelScope;
  /** No new message is handled (cancel started, or the consumer ended). */
  _stopping = false;
  _channelGone = false;
  _serverCancelled = false;
  _finished = false;
  _drainWaiters: Array<() => void> = [];
  readonly _connection: EventSource | undefined;

  constructor(
    readonly _channel: Channel,
    readonly _handler: MessageHandler,
    readonly _o: ResolvedConsume,
  ) {
    this.done = new Promise((r) => {
      this._markDone = r;
    });
    this._root = withCancel(_o.parent ?? background());
    const conn = (_channel as { connection?: unknown }).connection;
    this._connection = isEmitter(conn) ? conn : undefined;
    _channel.on('close', this._onChannelClose);
    this._connection?.on('close', this._onConnectionClose);
  }

  readonly _onChannelClose = (): void => {
    this._channelGone = true;
    // A closing connection closes its channels first, then emits its own 'close' in the same
    // turn: decide on a microtask which one it was.
    queueMicrotask(() => this._end(new ChannelClosedError()));
  };

  readonly _onConnectionClose = (err?: unknown): void => {
    this._channelGone = true;
    this._end(new ConnectionClosedError(err === undefined ? undefined : { cause: err }));
  };

  /** Ends the consumer (first cause wins): handler contexts end with `why`. */
  _end(why: Error): void {
    this._stopping = true;
    if (this._root.ctx.err === undefined) this._root.cancel(why);
    this._maybeFinish();
  }

  /** Called by amqplib for each delivery, and with null for the broker's `basic.cancel`. */
  readonly _onMessage = (msg: ConsumeMessage | null): void => {
    if (msg === null) {
      this._serverCancelled = true;
      this._end(new ConsumerCancelledError(true));
      return;
    }
    if (this._stopping) {
      this._settle(msg, 'nack', true, undefined);
      return;
    }
    this.inFlight++;
    // Tracked by `inFlight` and `done`; `_handle` never rejects.
    void this._handle(msg);
  };

  _report(error: unknown, msg: ConsumeMessage): void {
    const f = this._o.onError;
    if (f === undefined) return;
    try {
      f(error, msg);
    } catch {
      // a reporting callback must not change how messages are settled
    }
  }

  /** The handler's context for `msg`, or an error saying why it is not handled. */
  _contextFor(msg: ConsumeMessage): { scope: CancelScope; inner: CancelScope | undefined } | Error {
    const headers = msg.properties.headers as Record<string, unknown> | undefined;
    let scope: CancelScope;
    try {
      scope = extract(headers ?? {}, this._root.ctx, this._o.extract);
    } catch (e) {
      if (e instanceof InvalidHeaderError) return e;
      throw e;
    }
    const now = getClock().now();
    const fromHeader = remaining(scope.ctx);
    let budget = fromHeader;
    if (budget !== Infinity && this._o.subtractQueueTime) budget -= queueTime(headers, now);
    const exp = expirationBudget(msg.properties.expiration, msg.properties.timestamp, now);
    if (exp !== undefined && exp < budget) budget = exp;
    if (this._o.maxBudgetMs < budget) budget = this._o.maxBudgetMs;
    if (budget <= 0 || scope.ctx.err !== undefined) {
      scope.cancel();
      return new MessageExpiredError();
    }
    return { scope, inner: budget < fromHeader ? withTimeout(scope.ctx, budget) : undefined };
  }

  /** Runs the handler for `msg` and settles it; the promise settles (never rejects) once it is settled. */
  _handle(msg: ConsumeMessage): Promise<void> | undefined {
    let made: ReturnType<RunningConsumer['_contextFor']>;
    try {
      made = this._contextFor(msg);
    } catch (e) {
      made = e instanceof Error ? e : new Error(String(e));
    }
    if (made instanceof Error) {
      const expired = made instanceof MessageExpiredError;
      const ack = expired && this._o.ackExpired;
      if (!(made instanceof InvalidHeaderError) || this._o.rejectInvalid) {
        this._settle(msg, ack ? 'ack' : 'reject', false, this._root.ctx);
        this._report(made, msg);
        this._doneOne();
        return undefined;
      }
      made = { scope: withCancel(this._root.ctx), inner: undefined };
    }
    const { scope, inner } = made;
    const ctx = (inner ?? scope).ctx;
    const handler = this._handler;
    return operation<unknown>(ctx, 'amqp.handle', (settle) => {
      let work: PromiseLike<unknown>;
      try {
        const r = handler(ctx, msg);
        work = r instanceof Promise ? r : Promise.resolve(r);
      } catch (e) {
        work = Promise.reject(e);
      }
      work.then(
        (v) => settle.resolve(v),
        (e: unknown) => settle.reject(e),
      );
      // The handler is the work: when its context ends, wait for it to return before settling,
      // so the message is never redelivered while this handler is still running.
      return () => work;
    }).then(
      () => this._finishMessage(msg, ctx, scope, inner, undefined, true),
      (e: unknown) => this._finishMessage(msg, ctx, scope, inner, e, false),
    );
  }

  _finishMessage(msg: ConsumeMessage, ctx: Context, scope: CancelScope, inner: CancelScope | undefined, error: unknown, ok: boolean): void {
    const ended = ctx.err !== undefined;
    const why = ended ? cause(ctx) : undefined;
    if (ok) {
      this._settle(msg, 'ack', false, ctx);
    } else if (ended && (why instanceof ChannelClosedError || why instanceof ConnectionClosedError)) {
      this._report(new SettleFailedError('nack', { cause: why }), msg);
    } else if (ended && why instanceof ConsumerCancelledError) {
      this._settle(msg, 'nack', true, ctx);
      this._report(error, msg);
    } else if (ended && isDeadlineExceeded(ctx.err)) {
      this._settle(msg, this._o.ackExpired ? 'ack' : 'reject', false, ctx);
      this._report(error, msg);
    } else {
      const { n, counted } = deliveryCount(msg.properties.headers as Record<string, unknown> | undefined, msg.fields.redelivered);
      // Uncounted (classic queues): a redelivered message has had its one retry.
      const max = this._o.maxDeliveries;
      if (n >= max || (!counted && n > 1 && max !== Infinity)) {
        this._settle(msg, 'reject', false, ctx);
        this._report(new PoisonMessageError(n, { cause: error }), msg);
      } else {
        this._settle(msg, 'nack', this._o.requeue, ctx);
        this._report(error, msg);
      }
    }
    inner?.cancel();
    scope.cancel();
    this._doneOne();
  }

  /**
   * Settles `msg` once, on the delivering channel, on `withoutCancel(ctx)` (never on an ended
   * context). When the channel is gone nothing is sent and `SettleFailedError` is reported.
   */
  _settle(msg: ConsumeMessage, outcome: Outcome, requeue: boolean, ctx: Context | undefined): void {
    if (this._channelGone) {
      this._report(new SettleFailedError(outcome), msg);
      return;
    }
    // The frame is written synchronously (amqplib has no ack confirmation): reported to core's
    // hooks as an operation of a context that never ends, so an ended handler context never
    // stops its own settling.
    const op = startOperation(withoutCancel(ctx ?? this._root.ctx), OUTCOME_LABEL[outcome]);
    try {
      if (outcome === 'ack') this._channel.ack(msg);
      else if (outcome === 'nack') this._channel.nack(msg, false, requeue);
      else this._channel.reject(msg, false);
      op.end();
    } catch (e) {
      op.end(e);
      this._report(new SettleFailedError(outcome, { cause: e }), msg);
    }
  }

  _doneOne(): void {
    this.inFlight--;
    if (this.inFlight === 0) {
      const w = this._drainWaiters;
      this._drainWaiters = [];
      for (const f of w) f();
    }
    this._maybeFinish();
  }

  _maybeFinish(): void {
    if (this._finished || this.inFlight > 0 || this._root.ctx.err === undefined) return;
    this._finished = true;
    this._channel.off('close', this._onChannelClose);
    this._connection?.off('close', this._onConnectionClose);
    this._markDone();
  }

  /** Sends `basic.cancel` unless the broker or a closed channel already ended the consumer. */
  _cancelAtBroker(ctx: Context): Promise<void> {
    if (this._channelGone || this._serverCancelled || this.consumerTag === '') return Promise.resolve();
    const ch = this._channel;
    const tag = this.consumerTag;
    return operation<void>(ctx, 'amqp.cancel', (s) => {
      ch.cancel(tag).then(
        () => s.resolve(),
        // The channel closed meanwhile: nothing is consumed any more either way.
        () => s.resolve(),
      );
    });
  }

  async cancel(ctx: Context): Promise<void> {
    if (typeof ctx !== 'object' || ctx === null) throw new TypeError(`consumer.cancel: ctx must be a Context, got ${describeValue(ctx)}`);
    const first = !this._stopping;
    this._stopping = true;
    try {
      if (first) await this._cancelAtBroker(ctx);
      if (this.inFlight > 0) {
        await operation<void>(ctx, 'amqp.drain', (s) => {
          const f = (): void => s.resolve();
          this._drainWaiters.push(f);
          return {
            release: () => {
              const i = this._drainWaiters.indexOf(f);
              if (i >= 0) this._drainWaiters.splice(i, 1);
            },
          };
        });
      }
    } finally {
      this._end(new ConsumerCancelledError(false));
    }
  }
}

/**
 * Consumes `queue` on `channel`: each message's `handler(ctx, message)` runs with a context that
 * - has the message's budget: the smallest of its budget header (`ctxkit-timeout-ms`,
 *   `grpc-timeout`, … as `@ctxkit/http`'s `extract` reads them) less the time it waited since
 *   publish, its AMQP `expiration` less the time since its `timestamp`, and `maxBudgetMs`;
 *   its trace context and allowlisted baggage;
 * - ends when that budget ends (`DeadlineExceededError`), when the consumer is cancelled
 *   (`cause(ctx)`: `ConsumerCancelledError`, `server` true for the broker's `basic.cancel`, as when
 *   the queue is deleted), or when the channel or its connection closes (`ChannelClosedError`,
 *   `ConnectionClosedError`), or when `options.parent` ends.
 *
 * Settling, exactly once per message, on the delivering channel, on `withoutCancel`, after the
 * handler has returned: it returned → ack; its budget ended → reject (or ack, `expired`); the
 * consumer was cancelled → nack with requeue; it failed → nack (requeue per `requeue`), or reject
 * once the delivery count reaches `maxDeliveries`; the channel or connection is gone → nothing (the
 * broker redelivers), `SettleFailedError` reported. A message whose budget is spent on arrival, or
 * with a malformed budget header (`invalid: 'reject'`), is not handled: it is rejected without
 * requeue (or acked, `expired: 'ack'`). Every outcome other than a successful ack goes to
 * `onError`. A handler error never crashes the consumer.
 *
 * Resolves with the `Consumer` once the broker has registered it. Rejects with amqplib's error when
 * `prefetch` or `basic.consume` fails; throws `TypeError` for a bad channel, queue, handler or
 * option.
 */
export async function consume(channel: Channel, queue: string, handler: MessageHandler, options?: ConsumeOptions): Promise<Consumer> {
  if (channel === null || typeof channel !== 'object' || typeof channel.consume !== 'function' || !isEmitter(channel)) {
    throw new TypeError(`consume: channel must be an amqplib channel, got ${describeValue(channel)}`);
  }
  if (typeof queue !== 'string') throw new TypeError(`consume: queue must be a string, got ${describeValue(queue)}`);
  if (typeof handler !== 'function') throw new TypeError(`consume: handler must be a function, got ${describeValue(handler)}`);
  const o = resolveConsume(options);
  const c = new RunningConsumer(channel, handler, o);
  try {
    if (o.prefetch !== undefined) await channel.prefetch(o.prefetch);
    const ok = await channel.consume(queue, c._onMessage, o.consumeOptions);
    c.consumerTag = ok.consumerTag;
  } catch (e) {
    c._end(new ChannelClosedError('the consumer could not start'));
    throw e;
  }
  // The parent ending stops the consumer at the broker too.
  afterFunc(c._root.ctx, () => {
    c._stopping = true;
    c._cancelAtBroker(withoutCancel(c._root.ctx)).catch(() => {});
  });
  if (c._channelGone) c._end(new ChannelClosedError());
  return c;
}
