/**
 * @ctxkit/http — every request gets a context that ends when its client leaves, and budgets
 * travel across services.
 *
 * - node:http: `contextFromRequest(req, res)` / `contextHandler(handler)`; frameworks through the
 *   subpaths `@ctxkit/http/express`, `/fastify`, `/koa`, `/hono` (none is imported from here).
 * - node:http2: `contextFromStream(stream, headers)` / `streamHandler(handler)` (the 'stream'
 *   event), `contextFromHttp2Request(req, res)` / `http2Handler(handler)` (compatibility API).
 * - Outbound: `ctxFetch(ctx, url, init)` / `createFetch(defaults)`.
 * - The transport-neutral codec: `inject(ctx, headers)` / `extract(headers, parent)`.
 * - Server-sent events: `sendEvents(ctx, res, source)` / `openEventStream(ctx, res)`.
 */
export { ClientDisconnectedError, ResponseFinishedError, InvalidHeaderError } from './errors.js';
export {
  contextFromRequest,
  contextHandler,
  getRequestContext,
  type RequestContextOptions,
  type ContextHandlerOptions,
  type ContextRequestHandler,
} from './server.js';
export type { ContextErrorOptions } from './kit.js';
export {
  contextFromStream,
  streamHandler,
  contextFromHttp2Request,
  http2Handler,
  getStreamContext,
  StreamResetError,
  SessionClosedError,
  type StreamContextHandler,
  type StreamHandlerOptions,
  type Http2ContextRequestHandler,
  type Http2HandlerOptions,
} from './http2.js';
export { ctxFetch, createFetch, type CtxFetchInit, type FetchFunction } from './fetch.js';
export { inject, extract, DEFAULT_MARGIN_MS, type InjectOptions, type ExtractOptions } from './codec.js';
export {
  TIMEOUT_HEADER,
  GRPC_TIMEOUT_HEADER,
  ENVOY_TIMEOUT_HEADER,
  MAX_BUDGET_MS,
  parseGrpcTimeout,
  formatGrpcTimeout,
  parseMillis,
  type BudgetOptions,
} from './budget.js';
export type { HeaderSource, HeaderSink, HeaderValue } from './headers.js';
export { type TraceContext, withTraceContext, getTraceContext, isValidTraceparent, isValidTracestate } from './trace.js';
export {
  withBaggage,
  getBaggage,
  parseBaggage,
  serializeBaggage,
  isBaggageName,
  BAGGAGE_MAX_MEMBERS,
  BAGGAGE_MAX_BYTES,
} from './baggage.js';
export {
  openEventStream,
  sendEvents,
  formatEvent,
  type ServerSentEvent,
  type EventStream,
  type EventStreamOptions,
  type ServerSentEventSource,
} from './sse.js';
