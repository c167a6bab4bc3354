/**
 * Server-sent events bound to a context: the stream stops — timers cleared, listeners removed,
 * the source's iterator returned — the moment the context ends or the client goes away.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { afterFunc, getClock, assertContext, race, type Context } from '@ctxkit/core';

/** One event. `data` that is not a string is sent as JSON. */
export interface ServerSentEvent {
  /** The payload; a string is sent as is (one `data:` line per line), anything else as JSON. */
  data: unknown;
  /** The event type (`event:`); no line breaks. */
  event?: string;
  /** The event id (`id:`), which the browser sends back as `Last-Event-ID`; no line breaks or NUL. */
  id?: string;
  /** The reconnection delay the client should use, milliseconds (`retry:`). */
  retry?: number;
}

/** Options of `openEventStream` and `sendEvents`. */
export interface EventStreamOptions {
  /**
   * Sends a comment line every `heartbeatMs` milliseconds so proxies and load balancers keep the
   * connection open (timers come from core's clock, so a test's manual clock drives them).
   * Default 15000; 0 disables.
   */
  heartbeatMs?: number;
  /** Extra response headers (the SSE ones are set unless given here). */
  headers?: OutgoingHttpHeaders;
}

/** An open event stream on a response. */
export interface EventStream {
  /**
   * Writes one event (a string is the `data`). Resolves once it has been handed to the socket —
   * waiting for 'drain' when the client reads slowly — and rejects with `ctx.err` when the
   * context ends first or has ended (with an `Error` when the stream was closed by `close()`).
   */
  send(event: ServerSentEvent | string): Promise<void>;
  /** Ends the response and releases the stream (timer, listeners). Idempotent. */
  close(): void;
  /** True once the stream is closed (by `close()`, the context ending, or the client leaving). */
  readonly closed: boolean;
}

const NO_NEWLINE = /[\r\n\0]/;

/** Formats one event as SSE wire text. Throws `TypeError` for line breaks in `event`/`id`. */
export function formatEvent(ev: ServerSentEvent | string): string {
  const e: ServerSentEvent = typeof ev === 'string' ? { data: ev } : ev;
  if (e === null || typeof e !== 'object') throw new TypeError('send: event must be a string or { data, event?, id?, retry? }');
  let out = '';
  if (e.event !== undefined) {
    if (typeof e.event !== 'string' || NO_NEWLINE.test(e.event))
      throw new TypeError('send: event.event must be a string without line breaks');
    out += `event: ${e.event}\n`;
  }
  if (e.id !== undefined) {
    if (typeof e.id !== 'string' || NO_NEWLINE.test(e.id))
      throw new TypeError('send: event.id must be a string without line breaks or NUL');
    out += `id: ${e.id}\n`;
  }
  if (e.retry !== undefined) {
    if (!Number.isInteger(e.retry) || e.retry < 0) throw new TypeError('send: event.retry must be a non-negative integer (milliseconds)');
    out += `retry: ${e.retry}\n`;
  }
  const text = typeof e.data === 'string' ? e.data : (JSON.stringify(e.data) ?? 'null');
  for (const line of text.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * Starts an SSE response on `res` (status 200, `text/event-stream`, no caching, no proxy
 * buffering) for as long as `ctx` lives. The stream closes — heartbeat timer cleared, listeners
 * removed, the response ended if still open — when `ctx` ends, when the client disconnects, or
 * on `close()`. The caller must stop producing events when `send` rejects. Throws `TypeError` for
 * bad arguments; on an ended `ctx` it returns a closed stream (every `send` rejects with ctx.err).
 */
export function openEventStream(ctx: Context, res: ServerResponse, options?: EventStreamOptions): EventStream {
  assertContext(ctx, 'openEventStream: ctx');
  if (res === null || typeof res !== 'object' || typeof res.write !== 'function')
    throw new TypeError('openEventStream: res must be a node:http ServerResponse');
  const beatMs = options?.heartbeatMs ?? 15_000;
  if (typeof beatMs !== 'number' || !Number.isFinite(beatMs) || beatMs < 0)
    throw new TypeError('openEventStream: options.heartbeatMs must be a finite non-negative number');
  let closed = false;
  let timer: unknown;
  const clock = getClock();
  const waiters = new Set<() => void>();

  const release = (): void => {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clock.clearTimer(timer);
    timer = undefined;
    stopAfter();
    res.removeListener('close', release);
    for (const w of [...waiters]) w();
  };
  const close = (): void => {
    const wasOpen = !closed;
    release();
    if (wasOpen && !res.writableEnded && !res.destroyed) res.end();
  };
  const stopAfter = afterFunc(ctx, close);
  if (ctx.err !== undefined || res.destroyed || res.writableEnded) {
    release();
  } else {
    res.on('close', release);
    if (!res.headersSent) {
      const headers: OutgoingHttpHeaders = {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        ...options?.headers,
      };
      res.writeHead(200, headers);
    }
    res.write(':\n\n'); // flushes the head so the client's EventSource opens now
    if (beatMs > 0) {
      const beat = (): void => {
        timer = undefined;
        if (closed) return;
        res.write(': heartbeat\n\n');
        timer = clock.setTimer(beat, beatMs, false);
      };
      timer = clock.setTimer(beat, beatMs, false);
    }
  }

  const closedError = (): unknown => ctx.err ?? new Error('event stream closed');

  return {
    get closed() {
      return closed;
    },
    close,
    send(event) {
      if (closed) return Promise.reject(closedError());
      let text: string;
      try {
        text = formatEvent(event);
      } catch (e) {
        return Promise.reject(e);
      }
      if (res.write(text)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = (): void => {
          waiters.delete(onClosed);
          res.removeListener('drain', onDrain);
        };
        const onDrain = (): void => {
          done();
          resolve();
        };
        const onClosed = (): void => {
          done();
          reject(closedError());
        };
        waiters.add(onClosed);
        res.on('drain', onDrain);
      });
    },
  };
}

/** A source of events: an async iterable, or a function of the context returning one. */
export type ServerSentEventSource = AsyncIterable<ServerSentEvent | string> | ((ctx: Context) => AsyncIterable<ServerSentEvent | string>);

/**
 * Streams every event of `source` to `res` as server-sent events until the source is exhausted
 * (then ends the response and resolves) or `ctx` ends / the client leaves (then rejects with
 * `ctx.err`; when the client left, the request context's cause is `ClientDisconnectedError`).
 * Either way the source's iterator is returned (its `finally` runs once its pending step
 * settles — so a generator should wait with `ctx`, e.g. `await sleep(ctx, ms)`), the heartbeat
 * timer is cleared and every listener removed. A source that throws closes the stream and
 * rejects with that error.
 */
export async function sendEvents(
  ctx: Context,
  res: ServerResponse,
  source: ServerSentEventSource,
  options?: EventStreamOptions,
): Promise<void> {
  const stream = openEventStream(ctx, res, options);
  const iterable = typeof source === 'function' ? source(ctx) : source;
  if (iterable === null || typeof iterable !== 'object' || typeof iterable[Symbol.asyncIterator] !== 'function') {
    stream.close();
    throw new TypeError('sendEvents: source must be an async iterable (or a function of ctx returning one)');
  }
  const it = iterable[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      if (stream.closed) throw ctx.err ?? new Error('event stream closed');
      const r = await race(ctx, it.next());
      if (r.done) {
        finished = true;
        break;
      }
      await stream.send(r.value);
    }
  } catch (e) {
    stream.close();
    throw ctx.err ?? e;
  } finally {
    if (!finished) {
      // A pending next() delays the generator's return; don't let its failure go unhandled.
      Promise.resolve()
        .then(() => it.return?.())
        .catch(() => {});
    }
  }
  stream.close();
}
