/**
 * @ctxkit/amqp — RabbitMQ (amqplib) bound to a context.
 *
 * - `publish(ctx, channel, exchange, routingKey, body, options?)`: the budget, trace and
 *   allowlisted baggage travel in the message headers; confirms are bounded by `ctx`.
 * - `consume(channel, queue, handler, options?)`: a context per message, ended by its budget, the
 *   consumer's cancel or its channel's close; every message settled once, on `withoutCancel`.
 */
export { publish, type PublishOptions } from './publish.js';
export { consume, type Consumer, type MessageHandler } from './consume.js';
export type { ConsumeOptions } from './options.js';
export { SENT_AT_HEADER, DELIVERY_COUNT_HEADER } from './message-headers.js';
export {
  PublishOutcomeUnknownError,
  PublishNackedError,
  ConsumerCancelledError,
  ChannelClosedError,
  ConnectionClosedError,
  MessageExpiredError,
  PoisonMessageError,
  SettleFailedError,
} from './errors.js';
