/**
 * The outcomes this package adds to core's two context errors. Each class is one outcome a caller
 * can act on; `ctx.err` stays the one check for "the context ended" (`isContextError`).
 */

/**
 * `publish` on a confirm channel: the context ended (or the channel closed) after the message was
 * handed to the broker and before the broker confirmed it. The message may or may not have been
 * routed to its queues: find out, or make the consumer idempotent and publish again. `cause` is
 * `ctx.err` when the context ended, or amqplib's error when the channel closed.
 */
export class PublishOutcomeUnknownError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'PublishOutcomeUnknownError';
  }
}

/**
 * `publish` on a confirm channel: the broker answered `basic.nack` — it did not take the message
 * (e.g. a queue at its length limit with `overflow: reject-publish`). Nothing was routed; publishing
 * again is safe.
 */
export class PublishNackedError extends Error {
  constructor(message = 'the broker refused the message (basic.nack)', options?: { cause?: unknown }) {
    super(message, options);
  }
  override get name(): string {
    return 'PublishNackedError';
  }
}

/**
 * Cause of a handler's context (`cause(ctx)`): its consumer was cancelled — by `consumer.cancel()`
 * after the drain budget ran out (`server` false), or by the broker with `basic.cancel`, as when
 * the queue was deleted (`server` true). The message is requeued (`nack`, requeue) when the channel
 * is still open.
 */
export class ConsumerCancelledError extends Error {
  /** True when the broker cancelled the consumer (`basic.cancel`), false for `consumer.cancel()`. */
  readonly server: boolean;
  constructor(server: boolean) {
    super(server ? 'the broker cancelled the consumer (basic.cancel: queue deleted?)' : 'the consumer was cancelled');
    this.server = server;
  }
  override get name(): string {
    return 'ConsumerCancelledError';
  }
}

/**
 * Cause of a handler's context: the channel that delivered the message closed (closed by the
 * application or by the broker after a channel error). Nothing can be settled on it any more: the
 * broker redelivers the message to another consumer.
 */
export class ChannelClosedError extends Error {
  constructor(message = 'the channel closed') {
    super(message);
  }
  override get name(): string {
    return 'ChannelClosedError';
  }
}

/**
 * Cause of a handler's context: the connection of the delivering channel closed (by the client, by
 * the broker, or the socket failed; `cause` is amqplib's error when there was one). As with
 * `ChannelClosedError`, the broker redelivers the message.
 */
export class ConnectionClosedError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the connection closed', options);
  }
  override get name(): string {
    return 'ConnectionClosedError';
  }
}

/**
 * Reported to `onError`: a message arrived with its budget already spent (in the queue, or as sent)
 * and was not handled; it was settled as the `expired` option says.
 */
export class MessageExpiredError extends Error {
  constructor(message = 'the message arrived with its budget spent') {
    super(message);
  }
  override get name(): string {
    return 'MessageExpiredError';
  }
}

/**
 * Reported to `onError`: a handler failed on a message that had reached `maxDeliveries`, so it was
 * rejected without requeue (dead-lettered when the queue has a dead-letter exchange, else dropped).
 * `cause` is the handler's error; `deliveries` the count that reached the limit.
 */
export class PoisonMessageError extends Error {
  readonly deliveries: number;
  constructor(deliveries: number, options?: { cause?: unknown }) {
    super(`handler failed on delivery ${deliveries}, the limit: message rejected without requeue`, options);
    this.deliveries = deliveries;
  }
  override get name(): string {
    return 'PoisonMessageError';
  }
}

/**
 * Reported to `onError`: the message could not be settled because its channel (or connection) had
 * closed, or the ack/nack frame could not be written (`cause`). Nothing was acked: the broker
 * redelivers the message. `outcome` is what would have been sent.
 */
export class SettleFailedError extends Error {
  readonly outcome: 'ack' | 'nack' | 'reject';
  constructor(outcome: 'ack' | 'nack' | 'reject', options?: { cause?: unknown }) {
    super(`could not ${outcome} the message: its channel is gone (the broker redelivers it)`, options);
    this.outcome = outcome;
  }
  override get name(): string {
    return 'SettleFailedError';
  }
}
