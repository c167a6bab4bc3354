/**
 * The message properties this package reads besides the codec's budget and trace headers, parsed
 * as untrusted input: a value that is not what it should be counts as absent, never a crash.
 */
import { MAX_BUDGET_MS } from '@ctxkit/core';

/** ctxkit's header with the publisher's clock at publish time, epoch milliseconds (1–15 digits). */
export const SENT_AT_HEADER = 'ctxkit-sent-ms';

/** RabbitMQ's header on quorum-queue redeliveries: how many times the message was returned before. */
export const DELIVERY_COUNT_HEADER = 'x-delivery-count';

function digits(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A non-negative safe integer from a number or a string of digits; undefined otherwise. @internal */
export function readCount(v: unknown, maxDigits: number): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v === 'string' && digits(v, maxDigits)) return Number(v);
  if (v instanceof Uint8Array && v.length <= maxDigits) return readCount(String.fromCharCode(...v), maxDigits);
  return undefined;
}

/**
 * How many times this delivery has been made, this one included, and whether the broker counted
 * it: `x-delivery-count` + 1 when the queue counts (quorum queues); otherwise 2 for a message
 * flagged `redelivered` (at least one delivery before: the broker does not say how many) and 1
 * for a first delivery, uncounted. @internal
 */
export function deliveryCount(
  headers: Readonly<Record<string, unknown>> | undefined,
  redelivered: boolean,
): { n: number; counted: boolean } {
  const n = headers === undefined ? undefined : readCount(headers[DELIVERY_COUNT_HEADER], 10);
  if (n !== undefined) return { n: n + 1, counted: true };
  return { n: redelivered ? 2 : 1, counted: false };
}

/**
 * Milliseconds the message spent between publish and now by the two clocks, from ctxkit's sent-at
 * header: 0 when absent, malformed, or in the future (clocks disagree: never adds budget).
 * @internal
 */
export function queueTime(headers: Readonly<Record<string, unknown>> | undefined, now: number): number {
  if (headers === undefined) return 0;
  const at = readCount(headers[SENT_AT_HEADER], 15);
  if (at === undefined) return 0;
  return now > at ? now - at : 0;
}

/**
 * The budget the AMQP `expiration` (per-message TTL, a string of digits in ms) leaves, minus the
 * time since `timestamp` when the publisher set one (seconds, as AMQP defines it, or epoch
 * milliseconds for values above 10^11); undefined when there is no valid expiration. @internal
 */
export function expirationBudget(expiration: unknown, timestamp: unknown, now: number): number | undefined {
  const ttl = readCount(expiration, 10);
  if (ttl === undefined) return undefined;
  let budget = Math.min(ttl, MAX_BUDGET_MS);
  if (typeof timestamp === 'number' && Number.isFinite(timestamp) && timestamp > 0) {
    const at = timestamp > 1e11 ? timestamp : timestamp * 1000;
    if (now > at) budget -= now - at;
  }
  return Math.max(0, budget);
}
