/**
 * Per-file analysis shared by all rules: which names come from `@ctxkit/core`, which functions
 * have a context (a Context or AbortSignal parameter, or a variable derived from one), and
 * whether an expression carries that context. Cached per SourceCode, so the rules of one lint run
 * share the work. Works with type information (typescript-eslint `projectService`) and degrades to
 * syntax (annotations named `Context`/`AbortSignal`, parameters named `ctx`/`signal`) without it.
 */
import { AST_NODE_TYPES, ASTUtils, ESLintUtils, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import type ts from 'typescript';
import { type FunctionNode, enclosingFunction, isClass, isFunction, isReference, propertyName, unwrap } from './ast.js';
import { type CarrierKind, carrierKind, isCancelScopeType, isContextType } from './types.js';

type Variable = TSESLint.Scope.Variable;

/** What a binding in a function holds. `scope` is a CancelScope (its `.ctx` is a context). */
export type BindingKind = CarrierKind | 'scope';

/** The context a function has: its bindings and the expressions to suggest passing. */
export interface FunctionContext {
  readonly fn: FunctionNode;
  /** Variables holding the context, its signal, an options object with a signal, or a scope. */
  readonly bindings: Map<Variable, BindingKind>;
  /** Source text to pass where a Context is wanted (`ctx`), if the function has one. */
  readonly contextText: string | undefined;
  /** Source text to pass where an AbortSignal is wanted (`ctx.signal`, `signal`, `opts.signal`). */
  readonly signalText: string | undefined;
  /** The bindings in declaration order: where each becomes available, and its texts. */
  readonly entries: ReadonlyArray<{
    readonly pos: number;
    readonly kind: BindingKind;
    readonly contextText?: string;
    readonly signalText?: string;
  }>;
}

/** Names exported by @ctxkit/core that the rules care about. */
export const CORE_MODULES = new Set(['@ctxkit/core', '@ctxkit/core/node']);
const SCOPE_MAKERS = new Set(['withCancel', 'withTimeout', 'withDeadline', 'fromSignal']);
const CONTEXT_MAKERS = new Set(['withValue', 'withoutCancel']);
/** Every @ctxkit/core function that makes a new context from a parent (scope makers and context makers). */
export const CONTEXT_DERIVERS: ReadonlySet<string> = new Set([...SCOPE_MAKERS, ...CONTEXT_MAKERS]);

/** Shared per-file analysis; get it with `analysisOf(context)`. */
export class FileAnalysis {
  readonly checker: ts.TypeChecker | undefined;
  private readonly services: ReturnType<typeof ESLintUtils.getParserServices> | undefined;
  /** local name → exported name, for named imports from @ctxkit/core. */
  private readonly coreNames = new Map<string, string>();
  /** local names of namespace imports of @ctxkit/core. */
  private readonly coreNamespaces = new Set<string>();
  private readonly fnCache = new WeakMap<FunctionNode, FunctionContext>();

  constructor(
    readonly sourceCode: Readonly<TSESLint.SourceCode>,
    services: ReturnType<typeof ESLintUtils.getParserServices> | undefined,
  ) {
    this.services = services?.program ? services : undefined;
    this.checker = this.services?.program.getTypeChecker();
    this.collectImports(sourceCode.ast);
  }

  private collectImports(program: TSESTree.Program): void {
    for (const st of program.body) {
      if (st.type === AST_NODE_TYPES.ImportDeclaration && CORE_MODULES.has(st.source.value)) {
        for (const s of st.specifiers) {
          if (s.type === AST_NODE_TYPES.ImportNamespaceSpecifier) this.coreNamespaces.add(s.local.name);
          else if (s.type === AST_NODE_TYPES.ImportSpecifier) {
            const imported = s.imported.type === AST_NODE_TYPES.Identifier ? s.imported.name : s.imported.value;
            this.coreNames.set(s.local.name, imported);
          }
        }
      } else if (st.type === AST_NODE_TYPES.VariableDeclaration) {
        // const { withCancel } = require('@ctxkit/core')
        for (const d of st.declarations) {
          const init = d.init && unwrap(d.init);
          if (
            init?.type === AST_NODE_TYPES.CallExpression &&
            init.callee.type === AST_NODE_TYPES.Identifier &&
            init.callee.name === 'require' &&
            init.arguments[0]?.type === AST_NODE_TYPES.Literal &&
            CORE_MODULES.has(String(init.arguments[0].value))
          ) {
            if (d.id.type === AST_NODE_TYPES.Identifier) this.coreNamespaces.add(d.id.name);
            else if (d.id.type === AST_NODE_TYPES.ObjectPattern) {
              for (const p of d.id.properties) {
                if (p.type === AST_NODE_TYPES.Property && p.value.type === AST_NODE_TYPES.Identifier) {
                  const key = propertyName(p);
                  if (key) this.coreNames.set(p.value.name, key);
                }
              }
            }
          }
        }
      }
    }
  }

  /** The local name under which a @ctxkit/core export is imported by name, else `undefined`. */
  localCoreName(exported: string): string | undefined {
    for (const [local, name] of this.coreNames) if (name === exported) return local;
    const ns = [...this.coreNamespaces][0];
    return ns ? `${ns}.${exported}` : undefined;
  }

  /** True when the file imports anything from @ctxkit/core. */
  get importsCore(): boolean {
    return this.coreNames.size > 0 || this.coreNamespaces.size > 0;
  }

  /** The @ctxkit/core export a callee refers to (`withCancel`, `core.withCancel`), else `undefined`. */
  coreName(callee: TSESTree.Node): string | undefined {
    const c = unwrap(callee);
    if (c.type === AST_NODE_TYPES.Identifier) return this.coreNames.get(c.name);
    if (
      c.type === AST_NODE_TYPES.MemberExpression &&
      c.object.type === AST_NODE_TYPES.Identifier &&
      this.coreNamespaces.has(c.object.name)
    ) {
      return propertyName(c);
    }
    return undefined;
  }

  /** The @ctxkit/core function a call calls, else `undefined`. */
  coreCall(node: TSESTree.Node): string | undefined {
    const n = unwrap(node);
    if (n.type !== AST_NODE_TYPES.CallExpression && n.type !== AST_NODE_TYPES.NewExpression) return undefined;
    return this.coreName(n.callee);
  }

  /** True when `node` calls one of withCancel/withTimeout/withDeadline/fromSignal. */
  isScopeMaker(node: TSESTree.Node): node is TSESTree.CallExpression {
    const name = this.coreCall(node);
    return name !== undefined && SCOPE_MAKERS.has(name) && unwrap(node).type === AST_NODE_TYPES.CallExpression;
  }

  /** The TypeScript type of an ESTree node, or `undefined` without type information. */
  typeOf(node: TSESTree.Node): ts.Type | undefined {
    if (!this.services || !this.checker) return undefined;
    const tsNode = this.services.esTreeNodeToTSNodeMap.get(node);
    return tsNode ? this.checker.getTypeAtLocation(tsNode) : undefined;
  }

  /** The TypeScript node of an ESTree node, or `undefined` without type information. */
  tsNode(node: TSESTree.Node): ts.Node | undefined {
    return this.services?.esTreeNodeToTSNodeMap.get(node);
  }

  /** What an expression carries by its type (`undefined` without type information or when nothing). */
  carrierOf(node: TSESTree.Node): CarrierKind | undefined {
    const t = this.typeOf(node);
    return t && this.checker ? carrierKind(t, this.checker) : undefined;
  }

  /** The variable an identifier refers to, or `undefined` (a global, or unresolved). */
  variableOf(id: TSESTree.Identifier): Variable | undefined {
    return ASTUtils.findVariable(this.sourceCode.getScope(id), id) ?? undefined;
  }

  /** The context a function has of its own (parameters and variables derived from them). */
  functionContext(fn: FunctionNode): FunctionContext {
    let fc = this.fnCache.get(fn);
    if (!fc) {
      fc = this.computeFunctionContext(fn);
      this.fnCache.set(fn, fc);
    }
    return fc;
  }

  /**
   * The nearest function enclosing `node` (closures included) that has a context, or
   * `undefined` when no enclosing function has one. `node` may itself be a function: then its
   * own parameters count.
   */
  contextInScope(node: TSESTree.Node): FunctionContext | undefined {
    const at = node.range[0];
    for (let fn: FunctionNode | undefined = isFunction(node) ? node : enclosingFunction(node); fn; fn = enclosingFunction(fn)) {
      const fc = this.functionContext(fn);
      if (fc.bindings.size === 0) continue;
      // Only bindings declared before `node` are in scope there.
      const live = fc.entries.filter((e) => e.pos <= at);
      if (live.length === 0) continue;
      if (live.length === fc.entries.length) return fc;
      return {
        fn,
        bindings: fc.bindings,
        entries: live,
        contextText: live.find((e) => e.contextText)?.contextText,
        signalText: live.find((e) => e.signalText)?.signalText,
      };
    }
    return undefined;
  }

  /**
   * True when `node` is derived from `withoutCancel(…)`: a context deliberately detached from the
   * caller's cancellation (cleanup work), or its signal, scope or variable.
   */
  isDetached(node: TSESTree.Node, depth = 0): boolean {
    const n = unwrap(node);
    if (depth > 4) return false;
    if (this.coreCall(n) === 'withoutCancel') return true;
    if (n.type === AST_NODE_TYPES.CallExpression) {
      const core = this.coreCall(n);
      return (
        core !== undefined &&
        (SCOPE_MAKERS.has(core) || core === 'withValue') &&
        n.arguments[0] !== undefined &&
        this.isDetached(n.arguments[0], depth + 1)
      );
    }
    if (n.type === AST_NODE_TYPES.MemberExpression) return this.isDetached(n.object, depth + 1);
    if (n.type === AST_NODE_TYPES.Identifier) {
      const def = this.variableOf(n)?.defs[0];
      if (def?.node.type === AST_NODE_TYPES.VariableDeclarator && def.node.init) return this.isDetached(def.node.init, depth + 1);
    }
    return false;
  }

  /** True when `fn` is a method of a class that implements Context or CancelScope itself. */
  private inContextImplementation(fn: FunctionNode): boolean {
    const m = fn.parent;
    if (!m || (m.type !== AST_NODE_TYPES.MethodDefinition && m.type !== AST_NODE_TYPES.PropertyDefinition)) return false;
    const cls = m.parent?.parent;
    return cls !== undefined && isClass(cls) && this.isContextClass(cls);
  }

  private implCache = new WeakMap<TSESTree.Node, boolean>();
  /**
   * True when class `cls` implements Context or CancelScope itself: its `implements` clause names
   * either, or (with type information) its instances are of either type. Cached per class.
   */
  isContextClass(cls: TSESTree.ClassDeclaration | TSESTree.ClassExpression): boolean {
    let v = this.implCache.get(cls);
    if (v === undefined) {
      v = cls.implements.some(
        (i) => i.expression.type === AST_NODE_TYPES.Identifier && (i.expression.name === 'Context' || i.expression.name === 'CancelScope'),
      );
      if (!v && this.checker) {
        const inst = this.typeOf(cls)?.getConstructSignatures()[0]?.getReturnType();
        v = inst !== undefined && (isContextType(inst, this.checker) || isCancelScopeType(inst, this.checker));
      }
      this.implCache.set(cls, v);
    }
    return v;
  }

  /** The binding kind of a variable in any function enclosing `from`, else `undefined`. */
  bindingOf(v: Variable, from: TSESTree.Node): BindingKind | undefined {
    for (let fn: FunctionNode | undefined = isFunction(from) ? from : enclosingFunction(from); fn; fn = enclosingFunction(fn)) {
      const k = this.functionContext(fn).bindings.get(v);
      if (k) return k;
    }
    return undefined;
  }

  /**
   * What a fresh, unrelated carrier is: `background()`, `todo()`, `new AbortController().signal`,
   * `AbortSignal.timeout(…)`; else `undefined`.
   */
  freshKind(node: TSESTree.Node): string | undefined {
    const n = unwrap(node);
    const core = this.coreCall(n);
    if (core === 'background' || core === 'todo') return `${core}()`;
    if (
      n.type === AST_NODE_TYPES.MemberExpression &&
      propertyName(n) === 'signal' &&
      n.object.type === AST_NODE_TYPES.NewExpression &&
      n.object.callee.type === AST_NODE_TYPES.Identifier &&
      n.object.callee.name === 'AbortController'
    ) {
      return 'new AbortController().signal';
    }
    if (
      n.type === AST_NODE_TYPES.CallExpression &&
      n.callee.type === AST_NODE_TYPES.MemberExpression &&
      n.callee.object.type === AST_NODE_TYPES.Identifier &&
      n.callee.object.name === 'AbortSignal' &&
      propertyName(n.callee) === 'timeout'
    ) {
      return 'AbortSignal.timeout()';
    }
    return undefined;
  }

  /**
   * True when `node` carries a live context of the code around it: a context binding, its
   * `.signal`/`.ctx`, a context derived from one, `AbortSignal.any([... one ...])`, or (with types)
   * any other Context/AbortSignal-typed expression that is not fresh (e.g. `req.signal`).
   */
  carriesContext(node: TSESTree.Node): boolean {
    const n = unwrap(node);
    if (this.syntacticCarrier(n)) return true;
    if (this.freshKind(n)) return false;
    if (n.type === AST_NODE_TYPES.Identifier && n.name === 'undefined') return false;
    const k = this.carrierOf(n);
    return k === 'context' || k === 'signal';
  }

  /** The syntactic part of `carriesContext`: bindings and derivations only. */
  syntacticCarrier(node: TSESTree.Node): BindingKind | undefined {
    const n = unwrap(node);
    switch (n.type) {
      case AST_NODE_TYPES.Identifier: {
        if (!isReference(n)) return undefined;
        const v = this.variableOf(n);
        return v ? this.bindingOf(v, n) : undefined;
      }
      case AST_NODE_TYPES.MemberExpression: {
        const name = propertyName(n);
        if (name === 'signal') {
          const k = this.syntacticCarrier(n.object);
          return k === 'context' || k === 'options' ? 'signal' : undefined;
        }
        if (name === 'ctx') {
          const k = this.syntacticCarrier(n.object);
          return k === 'scope' ? 'context' : undefined;
        }
        return undefined;
      }
      case AST_NODE_TYPES.CallExpression: {
        const core = this.coreCall(n);
        if (core && (SCOPE_MAKERS.has(core) || CONTEXT_MAKERS.has(core))) {
          const first = n.arguments[0];
          if (first && this.syntacticCarrier(first) === 'context') return SCOPE_MAKERS.has(core) ? 'scope' : 'context';
          return undefined;
        }
        // AbortSignal.any([ctx.signal, …])
        if (
          n.callee.type === AST_NODE_TYPES.MemberExpression &&
          n.callee.object.type === AST_NODE_TYPES.Identifier &&
          n.callee.object.name === 'AbortSignal' &&
          propertyName(n.callee) === 'any' &&
          n.arguments[0]?.type === AST_NODE_TYPES.ArrayExpression
        ) {
          return n.arguments[0].elements.some((e) => e && e.type !== AST_NODE_TYPES.SpreadElement && this.syntacticCarrier(e) === 'signal')
            ? 'signal'
            : undefined;
        }
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private paramKind(param: TSESTree.Node): BindingKind | undefined {
    let p = param;
    if (p.type === AST_NODE_TYPES.TSParameterProperty) p = p.parameter;
    if (p.type === AST_NODE_TYPES.AssignmentPattern) p = p.left;
    if (p.type !== AST_NODE_TYPES.Identifier) return undefined;
    if (this.checker) {
      const t = this.typeOf(p);
      if (t) {
        if (isCancelScopeType(t, this.checker)) return 'scope';
        return carrierKind(t, this.checker);
      }
    }
    return syntacticKind(p);
  }

  private computeFunctionContext(fn: FunctionNode): FunctionContext {
    const bindings = new Map<Variable, BindingKind>();
    // Registered before it is filled, so derivations that look the function up see the partial map.
    const entries: Array<FunctionContext['entries'][number]> = [];
    const result: { -readonly [K in keyof FunctionContext]: FunctionContext[K] } = {
      fn,
      bindings,
      contextText: undefined,
      signalText: undefined,
      entries,
    };
    this.fnCache.set(fn, result);
    if (this.inContextImplementation(fn)) return result;
    const declared = this.sourceCode.getDeclaredVariables(fn);
    const byName = new Map(declared.map((v) => [v.name, v] as const));
    let contextText: string | undefined;
    let signalText: string | undefined;
    const note = (v: Variable, kind: BindingKind, text: string, pos = 0): void => {
      bindings.set(v, kind);
      entries.push({
        pos,
        kind,
        contextText: kind === 'context' ? text : kind === 'scope' ? `${text}.ctx` : undefined,
        signalText:
          kind === 'context' ? `${text}.signal` : kind === 'signal' ? text : kind === 'options' ? `${text}.signal` : `${text}.ctx.signal`,
      });
      if (kind === 'context') contextText ??= text;
      if (kind === 'context' && !signalText) signalText = `${text}.signal`;
      if (kind === 'signal') signalText ??= text;
      if (kind === 'options') signalText ??= `${text}.signal`;
      if (kind === 'scope') {
        contextText ??= `${text}.ctx`;
        signalText ??= `${text}.ctx.signal`;
      }
    };
    for (const param of fn.params) {
      let p: TSESTree.Node = param;
      if (p.type === AST_NODE_TYPES.TSParameterProperty) p = p.parameter;
      if (p.type === AST_NODE_TYPES.AssignmentPattern) p = p.left;
      if (p.type === AST_NODE_TYPES.Identifier) {
        const kind = this.paramKind(p);
        const v = byName.get(p.name);
        if (kind && v) note(v, kind, p.name);
      } else if (p.type === AST_NODE_TYPES.ObjectPattern) {
        for (const prop of p.properties) {
          if (prop.type !== AST_NODE_TYPES.Property) continue;
          let value: TSESTree.Node = prop.value;
          if (value.type === AST_NODE_TYPES.AssignmentPattern) value = value.left;
          if (value.type !== AST_NODE_TYPES.Identifier) continue;
          const key = propertyName(prop);
          const v = byName.get(value.name);
          if (!v) continue;
          const typed = this.checker ? this.carrierOf(value) : undefined;
          const kind =
            typed === 'context' || typed === 'signal' ? typed : key === 'signal' ? 'signal' : key === 'ctx' ? 'context' : undefined;
          if (kind) note(v, kind, value.name);
        }
      }
    }
    // Variables declared in the body (not in nested functions) derived from a binding, or typed.
    const fnScope = this.sourceCode.getScope(fn);
    const scopes = [fnScope];
    for (let i = 0; i < scopes.length; i++) {
      for (const c of scopes[i]!.childScopes) if (c.type !== 'function' && c.type !== 'class') scopes.push(c);
    }
    const candidates: Array<{ v: Variable; id: TSESTree.Identifier; init: TSESTree.Node; key: string | undefined }> = [];
    for (const s of scopes) {
      for (const v of s.variables) {
        if (bindings.has(v)) continue;
        const def = v.defs[0];
        if (!def || def.node.type !== AST_NODE_TYPES.VariableDeclarator || !def.node.init) continue;
        const id = def.name as TSESTree.Identifier;
        let key: string | undefined;
        if (def.node.id.type === AST_NODE_TYPES.ObjectPattern) {
          const prop = def.node.id.properties.find((p) => p.type === AST_NODE_TYPES.Property && p.value === id);
          if (!prop || prop.type !== AST_NODE_TYPES.Property) continue;
          key = propertyName(prop);
        } else if (def.node.id !== id) continue;
        candidates.push({ v, id, init: def.node.init, key });
      }
    }
    candidates.sort((a, b) => a.id.range[0] - b.id.range[0]);
    for (const { v, id, init, key } of candidates) {
      const derived = this.syntacticCarrier(init);
      let kind: BindingKind | undefined;
      if (derived && key === undefined) kind = derived;
      else if (derived === 'scope' && key === 'ctx') kind = 'context';
      else if (derived === 'context' && key === 'signal') kind = 'signal';
      else if (this.checker) {
        const i = unwrap(init);
        if (
          i.type === AST_NODE_TYPES.CallExpression ||
          i.type === AST_NODE_TYPES.MemberExpression ||
          i.type === AST_NODE_TYPES.AwaitExpression ||
          i.type === AST_NODE_TYPES.Identifier
        ) {
          const t = this.typeOf(id);
          if (t && !this.freshKind(i) && this.coreCall(i) !== 'background' && this.coreCall(i) !== 'todo') {
            if (isCancelScopeType(t, this.checker)) kind = 'scope';
            else {
              const c = carrierKind(t, this.checker);
              if (c === 'context' || c === 'signal') kind = c;
            }
          }
        }
      }
      if (kind && kind !== 'options') note(v, kind, id.name, init.range[1]);
    }
    result.contextText = contextText;
    result.signalText = signalText;
    return result;
  }
}

function syntacticKind(id: TSESTree.Identifier): BindingKind | undefined {
  const ann = id.typeAnnotation?.typeAnnotation;
  if (ann && ann.type === AST_NODE_TYPES.TSTypeReference) {
    const tn = ann.typeName;
    const name = tn.type === AST_NODE_TYPES.Identifier ? tn.name : tn.type === AST_NODE_TYPES.TSQualifiedName ? tn.right.name : undefined;
    if (name === 'Context') return 'context';
    if (name === 'AbortSignal') return 'signal';
    if (name === 'CancelScope') return 'scope';
    return undefined;
  }
  if (!ann) {
    if (id.name === 'ctx') return 'context';
    if (id.name === 'signal') return 'signal';
  }
  return undefined;
}

const cache = new WeakMap<object, FileAnalysis>();

/** The shared analysis of the file a rule is linting. */
export function analysisOf<M extends string, O extends readonly unknown[]>(context: Readonly<TSESLint.RuleContext<M, O>>): FileAnalysis {
  const sc = context.sourceCode;
  let a = cache.get(sc);
  if (!a) {
    const services = ESLintUtils.getParserServices(context, true);
    a = new FileAnalysis(sc, services);
    cache.set(sc, a);
  }
  return a;
}
