/** The options of `consume`, validated once per call (a bad value throws `TypeError` naming it). */
import { assertKnownOptions, describeValue, MAX_BUDGET_MS, isContext, type Context } from '@ctxkit/core';
import type { ExtractOptions } from '@ctxkit/http';
import type { ConsumeMessage, Options } from 'amqplib';

/** Options of `consume`. */
export interface ConsumeOptions {
  /** `channel.prefetch(n)` before consuming: at most n unsettled messages (0–65535). Default: the channel's. */
  prefetch?: number;
  /** The most any message's handler gets, milliseconds, whatever its headers say. Default none. */
  maxBudgetMs?: number;
  /**
   * A malformed budget header: `'reject'` (default) rejects the message without requeue (dead-
   * lettered when the queue has a dead-letter exchange) and reports `InvalidHeaderError` to
   * `onError`; `'ignore'` handles it as if the header were absent.
   */
  invalid?: 'reject' | 'ignore';
  /**
   * A message whose budget is spent (on arrival, or while its handler ran): `'reject'` (default)
   * rejects it without requeue; `'ack'` acks it (drops it as done). Either way it is reported to
   * `onError` as `MessageExpiredError` (on arrival) or the handler's failure.
   */
  expired?: 'reject' | 'ack';
  /** Requeue a message whose handler failed (until `maxDeliveries`). Default true. */
  requeue?: boolean;
  /**
   * The poison-message limit: a handler failure on delivery number `maxDeliveries` (or later)
   * rejects the message without requeue. Counted from `x-delivery-count` (quorum queues). Queues
   * that do not count (classic queues) only flag a message `redelivered`: a failure on a
   * redelivered message is then taken as the limit (one retry, whatever the value), unless
   * `maxDeliveries` is `Infinity` (always requeue). Integer ≥ 1 or `Infinity`. Default 5.
   */
  maxDeliveries?: number;
  /**
   * Subtract the time a message waited since it was published (from its `ctxkit-sent-ms` header,
   * by the publisher's and this host's clocks; never adds budget) from its budget. Default true.
   */
  subtractQueueTime?: boolean;
  /** Baggage names accepted from message headers (an allowlist; default none). */
  baggage?: readonly string[];
  /** Parent of every handler context (values, e.g. a logger); its end cancels the consumer. */
  parent?: Context;
  /** amqplib's consume options (`consumerTag`, `exclusive`, `priority`, `arguments`); `noAck` is not allowed. */
  consumeOptions?: Omit<Options.Consume, 'noAck'>;
  /**
   * Told of every message that did not end acked after a successful handler: the handler's error,
   * `MessageExpiredError`, `InvalidHeaderError`, `PoisonMessageError`, `SettleFailedError`, or
   * `ctx.err` when the handler's context ended (see `cause`). A throw from it is ignored.
   * Default: nothing.
   */
  onError?: (error: unknown, message: ConsumeMessage) => void;
}

/** @internal */
export interface ResolvedConsume {
  prefetch: number | undefined;
  maxBudgetMs: number;
  rejectInvalid: boolean;
  ackExpired: boolean;
  requeue: boolean;
  maxDeliveries: number;
  subtractQueueTime: boolean;
  extract: ExtractOptions;
  parent: Context | undefined;
  consumeOptions: Options.Consume;
  onError: ((error: unknown, message: ConsumeMessage) => void) | undefined;
}

const KNOWN = [
  'prefetch',
  'maxBudgetMs',
  'invalid',
  'expired',
  'requeue',
  'maxDeliveries',
  'subtractQueueTime',
  'baggage',
  'parent',
  'consumeOptions',
  'onError',
];

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string, dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T))
    throw new TypeError(`consume: options.${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describeValue(v)}`);
  return v as T;
}

/** @internal Validates `consume`'s options; throws `TypeError` naming the bad one. */
export function resolveConsume(o: ConsumeOptions | undefined): ResolvedConsume {
  if (o !== undefined && (o === null || typeof o !== 'object'))
    throw new TypeError(`consume: options must be an object, got ${describeValue(o)}`);
  const opts = o ?? {};
  assertKnownOptions(opts, KNOWN, 'consume');
  const { prefetch, maxBudgetMs, maxDeliveries, parent, onError, consumeOptions } = opts;
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 65535)) {
    throw new TypeError(`consume: options.prefetch must be an integer from 0 to 65535, got ${describeValue(prefetch)}`);
  }
  if (maxBudgetMs !== undefined && (typeof maxBudgetMs !== 'number' || Number.isNaN(maxBudgetMs) || maxBudgetMs < 0)) {
    throw new TypeError(`consume: options.maxBudgetMs must be a non-negative number of milliseconds, got ${describeValue(maxBudgetMs)}`);
  }
  if (maxDeliveries !== undefined && !(maxDeliveries === Infinity || (Number.isInteger(maxDeliveries) && maxDeliveries >= 1))) {
    throw new TypeError(`consume: options.maxDeliveries must be an integer ≥ 1 or Infinity, got ${describeValue(maxDeliveries)}`);
  }
  if (parent !== undefined && !isContext(parent))
    throw new TypeError(`consume: options.parent must be a Context, got ${describeValue(parent)}`);
  if (onError !== undefined && typeof onError !== 'function')
    throw new TypeError(`consume: options.onError must be a function, got ${describeValue(onError)}`);
  if (consumeOptions !== undefined && (consumeOptions === null || typeof consumeOptions !== 'object')) {
    throw new TypeError(`consume: options.consumeOptions must be an object, got ${describeValue(consumeOptions)}`);
  }
  if ((consumeOptions as Options.Consume | undefined)?.noAck === true) {
    throw new TypeError('consume: options.consumeOptions.noAck is not allowed: the consumer settles every message itself');
  }
  const invalid = oneOf(opts.invalid, ['reject', 'ignore'] as const, 'invalid', 'reject');
  return {
    prefetch,
    maxBudgetMs: Math.min(maxBudgetMs ?? Infinity, MAX_BUDGET_MS),
    rejectInvalid: invalid === 'reject',
    ackExpired: oneOf(opts.expired, ['reject', 'ack'] as const, 'expired', 'reject') === 'ack',
    requeue: opts.requeue !== false,
    maxDeliveries: maxDeliveries ?? 5,
    subtractQueueTime: opts.subtractQueueTime !== false,
    // The codec validates the allowlist; budgets are clamped here, after the queue time is taken off.
    extract: { invalid, ...(opts.baggage === undefined ? {} : { baggage: opts.baggage }) },
    parent,
    consumeOptions: { ...consumeOptions, noAck: false },
    onError,
  };
}
