/**
 * Type recognition of the things the rules follow: a ctxkit `Context`, an `AbortSignal`, a
 * `CancelScope`, an options object carrying `signal`. Recognition is structural where it can be
 * (a Context is anything with signal/done/err/deadline/value), so re-exports, subclasses and
 * stubs are all recognised.
 */
import ts from 'typescript';

/** What a value (or a parameter) carries for cancellation purposes. */
export type CarrierKind = 'context' | 'signal' | 'options';

function parts(type: ts.Type): ts.Type[] {
  if (type.isUnion() || type.isIntersection()) return type.types;
  return [type];
}

function isNullish(type: ts.Type): boolean {
  return (type.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null | ts.TypeFlags.Void)) !== 0;
}

const CONTEXT_PROPS = ['signal', 'done', 'err', 'deadline', 'value'] as const;

/** True when `type` (or a member of a union) is a ctxkit Context, recognised by its shape. */
export function isContextType(type: ts.Type, checker: ts.TypeChecker): boolean {
  for (const t of parts(type)) {
    if (isNullish(t) || (t.flags & ts.TypeFlags.Any) !== 0) continue;
    if (CONTEXT_PROPS.every((p) => checker.getPropertyOfType(t, p) !== undefined)) return true;
  }
  return false;
}

/** True when `type` (or a member of a union) is the platform's `AbortSignal`. */
export function isAbortSignalType(type: ts.Type): boolean {
  for (const t of parts(type)) {
    const sym = t.getSymbol() ?? t.aliasSymbol;
    if (sym?.getName() === 'AbortSignal') return true;
  }
  return false;
}

/** True when `type` is a ctxkit CancelScope (has `ctx` that is a Context and a `cancel` method). */
export function isCancelScopeType(type: ts.Type, checker: ts.TypeChecker): boolean {
  for (const t of parts(type)) {
    if (isNullish(t)) continue;
    const ctx = checker.getPropertyOfType(t, 'ctx');
    const cancel = checker.getPropertyOfType(t, 'cancel');
    if (ctx && cancel && isContextType(checker.getTypeOfSymbol(ctx), checker)) return true;
  }
  return false;
}

/**
 * True when `type` is an options object type (or union member): one with an OPTIONAL `signal`
 * property typed `AbortSignal` (a `Request`, whose `signal` is required, is not options).
 */
export function hasSignalOption(type: ts.Type, checker: ts.TypeChecker): boolean {
  for (const t of parts(type)) {
    if (isNullish(t) || (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) continue;
    if ((t.flags & ts.TypeFlags.Object) === 0 && !t.isIntersection()) continue;
    const prop = checker.getPropertyOfType(t, 'signal');
    if (prop && (prop.flags & ts.SymbolFlags.Optional) !== 0 && isAbortSignalType(checker.getTypeOfSymbol(prop))) return true;
  }
  return false;
}

/** Classifies a type: Context beats AbortSignal beats options-with-signal; `undefined` when none. */
export function carrierKind(type: ts.Type, checker: ts.TypeChecker): CarrierKind | undefined {
  if ((type.flags & ts.TypeFlags.Any) !== 0) return undefined;
  if (isContextType(type, checker)) return 'context';
  if (isAbortSignalType(type)) return 'signal';
  if (hasSignalOption(type, checker)) return 'options';
  return undefined;
}

/** True when `type` is (or may be) a thenable: a Promise or anything with a callable `then`. */
export function isThenable(type: ts.Type, checker: ts.TypeChecker): boolean {
  for (const t of parts(type)) {
    if (isNullish(t) || (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) continue;
    const then = checker.getPropertyOfType(t, 'then');
    if (then && checker.getTypeOfSymbol(then).getCallSignatures().length > 0) return true;
  }
  return false;
}
