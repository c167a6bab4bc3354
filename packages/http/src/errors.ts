/**
 * The causes an HTTP request context ends with, and the error for malformed propagation headers.
 *
 * `cause(ctx)` of a request context is one of these when the request's own lifecycle ended it;
 * `ctx.err` is still the core `CanceledError` (one check, `isContextError(e)`, covers all).
 */

/** @internal Makes an error without capturing a stack (the causes here carry none: where the library noticed an end is of no use). */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The client went away (its connection closed) before the response was completely sent — or the
 * server itself destroyed the response (`res.destroy()`), which the client sees the same way.
 * `cause(ctx)` of a request context that ended this way; `ctx.err` is a `CanceledError`.
 * Carries no stack: where the library noticed the close is of no use to anyone.
 */
export class ClientDisconnectedError extends Error {
  constructor(message = 'client disconnected before the response was complete') {
    super(message);
  }
  override get name(): string {
    return 'ClientDisconnectedError';
  }
  /** @internal Made on the hot path: skips stack capture. */
  static make(): ClientDisconnectedError {
    return withoutStack(() => new ClientDisconnectedError());
  }
}

/**
 * The response was completely sent, so the request context ended (as Go cancels a request's
 * context when its handler returns). `cause(ctx)` of a request context that ended this way;
 * `ctx.err` is a `CanceledError`. The bindings use one shared, frozen instance: test with
 * `instanceof`. Work meant to outlive the response must run on
 * `withoutCancel(ctx)` (plus its own timeout), never on the request context.
 */
export class ResponseFinishedError extends Error {
  constructor(message = 'response finished') {
    super(message);
  }
  override get name(): string {
    return 'ResponseFinishedError';
  }
  /**
   * @internal Every request ends this way, so all share one frozen instance (no stack, no
   * allocation per request); test it with `instanceof`, never by identity.
   */
  static make(): ResponseFinishedError {
    return (shared ??= Object.freeze(withoutStack(() => new ResponseFinishedError())));
  }
}
let shared: ResponseFinishedError | undefined;

/**
 * A propagation header (`grpc-timeout`, `x-envoy-expected-rq-timeout-ms`, `ctxkit-timeout-ms`)
 * held a value that is not valid. Thrown by `extract` (unless `invalid: 'ignore'`); the server
 * bindings answer it with `status` (400) and `message`, which names the header and what was
 * expected. `value` is the offending value, truncated to 64 characters.
 */
export class InvalidHeaderError extends Error {
  /** The HTTP status a server should answer with: 400. */
  readonly status = 400;
  constructor(
    /** The header's name, lower case. */
    readonly header: string,
    /** The offending value (truncated to 64 characters). */
    readonly value: string,
    expected: string,
  ) {
    super(`invalid ${header} header ${JSON.stringify(value)}: expected ${expected}`);
  }
  override get name(): string {
    return 'InvalidHeaderError';
  }
}
