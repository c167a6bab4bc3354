/**
 * `publish`: a message carries its context's budget, trace and allowlisted baggage in its headers;
 * on a confirm channel the wait for the broker's confirm is bounded by the context.
 */
import { describeValue, getClock, operation, remaining, type Context } from '@ctxkit/core';
import { DEFAULT_MARGIN_MS, inject, type InjectOptions } from '@ctxkit/http';
import type { Channel, ConfirmChannel, Options } from 'amqplib';
import { PublishNackedError, PublishOutcomeUnknownError } from './errors.js';
import { SENT_AT_HEADER } from './message-headers.js';

/** Options of `publish`: amqplib's publish options plus how the context travels. */
export interface PublishOptions extends Options.Publish {
  /**
   * How the context is written into the headers (`@ctxkit/http`'s `inject` options: `marginMs`
   * subtracted from the budget, default 5; `baggage` allowlist, default none; `grpcTimeout`).
   */
  propagation?: InjectOptions;
  /**
   * Also set the AMQP `expiration` (per-message TTL) to the remaining budget minus the margin, so
   * the broker drops (or dead-letters) a message that waits in its queue past its budget. The
   * smaller of that and an `expiration` given here wins. Only for a context with a deadline.
   * Default false.
   */
  expireWithBudget?: boolean;
  /**
   * Write ctxkit's sent-at header (`ctxkit-sent-ms`, this host's clock) so a consumer can subtract
   * the time the message waited in the queue from its budget. Default true.
   */
  sentAt?: boolean;
  /**
   * On a confirm channel, wait for the broker's confirm (default true). False publishes without
   * waiting, as on a plain channel.
   */
  confirm?: boolean;
}

function isConfirmChannel(ch: Channel): ch is ConfirmChannel {
  return typeof (ch as Partial<ConfirmChannel>).waitForConfirms === 'function';
}

function toBuffer(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError(`publish: body must be a Buffer, a Uint8Array or a string, got ${describeValue(body)}`);
}

function checkChannel(ch: unknown): asserts ch is Channel {
  if (ch === null || typeof ch !== 'object' || typeof (ch as Channel).publish !== 'function') {
    throw new TypeError(`publish: channel must be an amqplib channel, got ${describeValue(ch)}`);
  }
}

/**
 * Publishes `body` to `exchange` with `routingKey` on `channel`, with `ctx`'s propagation headers
 * (`ctxkit-timeout-ms`: the remaining budget minus the margin; `traceparent`/`tracestate`;
 * allowlisted `baggage`; `ctxkit-sent-ms`) added to `options.headers` (a copy: the object passed
 * in is not changed).
 *
 * - `ctx` already ended → rejects with `ctx.err`; nothing is published.
 * - Plain channel (or `confirm: false`): resolves once amqplib has taken the frame (its return
 *   value, false when its write buffer is full, is the resolved value: wait for the channel's
 *   `'drain'` before publishing much more).
 * - Confirm channel: resolves `true` once the broker confirms. Rejects with `PublishNackedError`
 *   when the broker nacks it (nothing routed), and with `PublishOutcomeUnknownError` when `ctx`
 *   ends or the channel closes before the confirm (the message may or may not have been routed;
 *   `cause` is `ctx.err` or amqplib's error).
 * - A channel already closed → amqplib's `IllegalOperationError`, nothing published.
 * Throws `TypeError` for a bad channel, exchange, routing key, body or options.
 */
export async function publish(
  ctx: Context,
  channel: Channel,
  exchange: string,
  routingKey: string,
  body: Buffer | Uint8Array | string,
  options?: PublishOptions,
): Promise<boolean> {
  checkChannel(channel);
  if (typeof exchange !== 'string') throw new TypeError(`publish: exchange must be a string, got ${describeValue(exchange)}`);
  if (typeof routingKey !== 'string') throw new TypeError(`publish: routingKey must be a string, got ${describeValue(routingKey)}`);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`publish: options must be an object, got ${describeValue(options)}`);
  }
  const content = toBuffer(body);
  const { propagation, expireWithBudget, sentAt, confirm, ...amqpOptions } = options ?? {};
  const waitConfirm = confirm !== false && isConfirmChannel(channel);
  let sent = false;
  try {
    return await operation<boolean>(ctx, 'amqp.publish', (settle) => {
      const headers: Record<string, unknown> = { ...(amqpOptions.headers as Record<string, unknown> | undefined) };
      inject(ctx, headers, propagation);
      if (sentAt !== false) headers[SENT_AT_HEADER] = String(Math.floor(getClock().now()));
      const props: Options.Publish = { ...amqpOptions, headers };
      if (expireWithBudget === true) {
        const rem = remaining(ctx);
        if (rem !== Infinity) {
          const margin = propagation?.marginMs ?? DEFAULT_MARGIN_MS;
          let ttl = Math.max(0, Math.floor(rem - margin));
          const own = amqpOptions.expiration;
          if (own !== undefined && Number(own) >= 0 && Number(own) < ttl) ttl = Number(own);
          props.expiration = String(ttl);
        }
      }
      if (!waitConfirm) {
        settle.resolve(channel.publish(exchange, routingKey, content, props));
        return;
      }
      (channel as ConfirmChannel).publish(exchange, routingKey, content, props, (err: unknown) => {
        if (err == null) settle.resolve(true);
        else if (err instanceof Error && err.message === 'message nacked') settle.reject(new PublishNackedError(undefined, { cause: err }));
        else settle.reject(new PublishOutcomeUnknownError('the channel closed before the broker confirmed the message', { cause: err }));
      });
      sent = true;
      // Nothing to stop on the far side: the message is on its way. The wait ends with ctx.err.
      return () => {};
    });
  } catch (e) {
    if (sent && e === ctx.err) {
      throw new PublishOutcomeUnknownError('the context ended before the broker confirmed the message', { cause: e });
    }
    throw e;
  }
}
