/**
 * @ctxkit/core — Go's `context` for TypeScript. Portable: imports no Node built-ins.
 * Node-only helpers (AsyncLocalStorage, diagnostics_channel) are in `@ctxkit/core/node`.
 */
export {
  type Context,
  type CancelScope,
  background,
  todo,
  withCancel,
  withTimeout,
  withDeadline,
  withValue,
  withoutCancel,
  fromSignal,
  afterFunc,
  cause,
  remaining,
  isContext,
  assertContext,
} from './context.js';
export { Key, createKey } from './key.js';
export {
  CanceledError,
  DeadlineExceededError,
  type ContextError,
  isCanceled,
  isDeadlineExceeded,
  isContextError,
} from './errors.js';
export { operation, type OperationSettle, type OperationTeardown, type OperationExecutor } from './operation.js';
export { assertKnownOptions } from './options.js';
export { asError, describeValue } from './describe.js';
export { sleep } from './sleep.js';
export { race } from './race.js';
export { Group, type GroupOptions } from './group.js';
export { type Clock, systemClock, installClock, getClock, MAX_BUDGET_MS } from './clock.js';
export {
  type ContextHooks,
  type ContextKind,
  type ContextOrigin,
  type OperationInfo,
  type OperationHandle,
  subscribe,
  startOperation,
} from './hooks.js';
