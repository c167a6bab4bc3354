/**
 * Which parameters of a call accept a context: by the resolved signature when types are
 * available, else from a table of well-known Node/web APIs (fetch, timers/promises, events,
 * stream/promises, fs/promises, child_process, undici).
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import ts from 'typescript';
import type { FileAnalysis } from './analysis.js';
import { propertyName, unwrap } from './ast.js';
import { type CarrierKind, carrierKind } from './types.js';

/** A parameter position that accepts a context, its signal, or an options object with `signal`. */
export interface CarrierParam {
  readonly index: number;
  readonly kind: CarrierKind;
  /** The options position is the last argument, whatever its index (variadic APIs like pipeline). */
  readonly last?: boolean;
}

/** Methods whose `signal` option is about listener removal or stream plumbing, not about the work. */
const IGNORED_METHODS = new Set([
  'addEventListener',
  'removeEventListener',
  'createReadStream',
  'createWriteStream',
  // readline over a stream: the input stream carries the signal (destroying it ends the interface)
  'createInterface',
  // stream adapters: the pipeline (or consumer) they are handed to carries the signal
  'from',
  'fromWeb',
  'toWeb',
  'it',
  'test',
  'describe',
  'before',
  'after',
  'beforeEach',
  'afterEach',
]);

type Table = Record<string, Record<string, CarrierParam>>;
const o = (index: number): CarrierParam => ({ index, kind: 'options' });
const KNOWN: Table = {
  undici: { request: o(1), fetch: o(1), stream: o(1), pipeline: o(1) },
  'timers/promises': { setTimeout: o(2), setImmediate: o(1), setInterval: o(2) },
  events: { once: o(2), on: o(2) },
  'stream/promises': { pipeline: { index: -1, kind: 'options', last: true }, finished: o(1) },
  'fs/promises': { readFile: o(1), writeFile: o(2), appendFile: o(2), readdir: o(1), watch: o(1) },
  child_process: { exec: o(1), execFile: o(2), spawn: o(2), fork: o(2) },
};

function moduleKey(source: string): string {
  return source.replace(/^node:/, '');
}

/** `{ module, name }` when `callee` is a named import (or `ns.name` of a namespace import), else undefined. */
function importedName(a: FileAnalysis, callee: TSESTree.Node): { module: string; name: string } | undefined {
  const c = unwrap(callee);
  let id: TSESTree.Identifier | undefined;
  let member: string | undefined;
  if (c.type === AST_NODE_TYPES.Identifier) id = c;
  else if (c.type === AST_NODE_TYPES.MemberExpression && c.object.type === AST_NODE_TYPES.Identifier) {
    id = c.object;
    member = propertyName(c);
  }
  if (!id) return undefined;
  const def = a.variableOf(id)?.defs[0];
  if (def?.type !== 'ImportBinding') return undefined;
  const decl = def.parent;
  if (decl.type !== AST_NODE_TYPES.ImportDeclaration) return undefined;
  const mod = moduleKey(decl.source.value);
  const spec = def.node;
  if (spec.type === AST_NODE_TYPES.ImportSpecifier) {
    const imported = spec.imported.type === AST_NODE_TYPES.Identifier ? spec.imported.name : spec.imported.value;
    if (member) return mod === 'fs' && imported === 'promises' ? { module: 'fs/promises', name: member } : undefined;
    return { module: mod, name: imported };
  }
  if (member) return { module: mod, name: member };
  return undefined;
}

function fromTable(a: FileAnalysis, call: TSESTree.CallExpression | TSESTree.NewExpression): CarrierParam[] {
  const c = unwrap(call.callee);
  if (c.type === AST_NODE_TYPES.Identifier && c.name === 'fetch' && !a.variableOf(c)) return [o(1)];
  const imp = importedName(a, call.callee);
  const entry = imp && KNOWN[imp.module]?.[imp.name];
  return entry ? [entry] : [];
}

function calleeName(callee: TSESTree.Node): string | undefined {
  const c = unwrap(callee);
  if (c.type === AST_NODE_TYPES.Identifier) return c.name;
  if (c.type === AST_NODE_TYPES.MemberExpression) return propertyName(c);
  return undefined;
}

/** The carrier parameters of a call; empty when it accepts no context. */
export function carrierParams(a: FileAnalysis, call: TSESTree.CallExpression | TSESTree.NewExpression): CarrierParam[] {
  const name = calleeName(call.callee);
  if (name && IGNORED_METHODS.has(name)) return [];
  const checker = a.checker;
  const tsCall = a.tsNode(call);
  if (!checker || !tsCall || !(ts.isCallExpression(tsCall) || ts.isNewExpression(tsCall))) return fromTable(a, call);
  const calleeType = a.typeOf(call.callee);
  if (!calleeType || (calleeType.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return fromTable(a, call);
  const sig = checker.getResolvedSignature(tsCall);
  if (!sig) return fromTable(a, call);
  const out: CarrierParam[] = [];
  const params = sig.getParameters();
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    const decl = p.valueDeclaration;
    if (decl && ts.isParameter(decl)) {
      if (decl.dotDotDotToken) continue;
      // A parameter declared as a bare type parameter (Map#set's V) is a container slot, not an API.
      if (decl.type && (checker.getTypeAtLocation(decl.type).flags & ts.TypeFlags.TypeParameter) !== 0) continue;
    }
    const kind = carrierKind(checker.getTypeOfSymbol(p), checker);
    if (kind) {
      if (call.type === AST_NODE_TYPES.NewExpression && kind !== 'context') continue;
      out.push({ index: i, kind });
    }
  }
  if (out.length === 0) {
    const more = overloadCarrier(checker, call, tsCall, calleeType, sig);
    if (more) out.push(more);
  }
  return out;
}

/**
 * A carrier the call could be given by appending one argument: another overload of the callee
 * whose leading parameters accept the given arguments and whose next parameter is a carrier.
 * `promisify(execFile)(file, args)` resolves to an overload without options, though
 * `(file, args, { signal })` exists. Needs `checker.isTypeAssignableTo` (TypeScript ≥ 5.4).
 */
function overloadCarrier(
  checker: ts.TypeChecker,
  call: TSESTree.CallExpression | TSESTree.NewExpression,
  tsCall: ts.CallExpression | ts.NewExpression,
  calleeType: ts.Type,
  resolved: ts.Signature,
): CarrierParam | undefined {
  if (typeof checker.isTypeAssignableTo !== 'function') return undefined;
  const tsArgs = tsCall.arguments ?? [];
  if (tsArgs.some((x) => ts.isSpreadElement(x))) return undefined;
  const n = tsArgs.length;
  const sigs = call.type === AST_NODE_TYPES.NewExpression ? calleeType.getConstructSignatures() : calleeType.getCallSignatures();
  if (sigs.length < 2) return undefined;
  const argTypes: Array<ts.Type | undefined> = [];
  const argType = (i: number): ts.Type => (argTypes[i] ??= checker.getTypeAtLocation(tsArgs[i]!));
  for (const s of sigs) {
    if (s === resolved || s.getTypeParameters()?.length) continue;
    const ps = s.getParameters();
    const next = ps[n];
    if (!next) continue;
    const decl = next.valueDeclaration;
    if (decl && ts.isParameter(decl) && decl.dotDotDotToken) continue;
    const kind = carrierKind(checker.getTypeOfSymbol(next), checker);
    if (!kind || (call.type === AST_NODE_TYPES.NewExpression && kind !== 'context')) continue;
    let fits = true;
    for (let i = 0; i < n && fits; i++) {
      const pd = ps[i]!.valueDeclaration;
      if (pd && ts.isParameter(pd) && pd.dotDotDotToken) fits = false;
      else fits = checker.isTypeAssignableTo(argType(i), checker.getTypeOfSymbol(ps[i]!));
    }
    if (fits) return { index: n, kind };
  }
  return undefined;
}
