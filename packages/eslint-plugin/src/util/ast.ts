/** Small AST helpers shared by the rules. */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';

/** Any function node. */
export type FunctionNode = TSESTree.FunctionDeclaration | TSESTree.FunctionExpression | TSESTree.ArrowFunctionExpression;

/** True for function declarations, function expressions and arrows. */
export function isFunction(node: TSESTree.Node): node is FunctionNode {
  return (
    node.type === AST_NODE_TYPES.FunctionDeclaration ||
    node.type === AST_NODE_TYPES.FunctionExpression ||
    node.type === AST_NODE_TYPES.ArrowFunctionExpression
  );
}

/** True for class declarations and class expressions. */
export function isClass(node: TSESTree.Node): node is TSESTree.ClassDeclaration | TSESTree.ClassExpression {
  return node.type === AST_NODE_TYPES.ClassDeclaration || node.type === AST_NODE_TYPES.ClassExpression;
}

/** The nearest function enclosing `node` (not `node` itself), or `undefined` at module level. */
export function enclosingFunction(node: TSESTree.Node): FunctionNode | undefined {
  return findAncestor(node, isFunction);
}

/**
 * The nearest ancestor of `node` (not `node` itself) for which `test` holds, climbing through
 * parents; `undefined` when there is none, or when the climb first reaches an ancestor for which
 * `stop` holds (e.g. `isFunction`, to stay inside the current function; that one is not tested).
 */
export function findAncestor<T extends TSESTree.Node>(
  node: TSESTree.Node,
  test: (n: TSESTree.Node) => n is T,
  stop?: (n: TSESTree.Node) => boolean,
): T | undefined;
export function findAncestor(
  node: TSESTree.Node,
  test: (n: TSESTree.Node) => boolean,
  stop?: (n: TSESTree.Node) => boolean,
): TSESTree.Node | undefined;
export function findAncestor(
  node: TSESTree.Node,
  test: (n: TSESTree.Node) => boolean,
  stop?: (n: TSESTree.Node) => boolean,
): TSESTree.Node | undefined {
  for (let p = node.parent; p && !stop?.(p); p = p.parent) if (test(p)) return p;
  return undefined;
}

/** Strips TS-only wrappers (`as`, `!`, `satisfies`, type assertions) and optional chains. */
export function unwrap(node: TSESTree.Node): TSESTree.Node {
  let n = node;
  for (;;) {
    switch (n.type) {
      case AST_NODE_TYPES.TSAsExpression:
      case AST_NODE_TYPES.TSNonNullExpression:
      case AST_NODE_TYPES.TSSatisfiesExpression:
      case AST_NODE_TYPES.TSTypeAssertion:
        n = n.expression;
        continue;
      case AST_NODE_TYPES.ChainExpression:
        n = n.expression;
        continue;
      default:
        return n;
    }
  }
}

/** The parent of `node` after climbing through TS wrappers, chains and parentheses-like nodes. */
export function outerParent(node: TSESTree.Node): { node: TSESTree.Node; parent: TSESTree.Node | undefined } {
  let n: TSESTree.Node = node;
  while (
    n.parent &&
    (n.parent.type === AST_NODE_TYPES.TSAsExpression ||
      n.parent.type === AST_NODE_TYPES.TSNonNullExpression ||
      n.parent.type === AST_NODE_TYPES.TSSatisfiesExpression ||
      n.parent.type === AST_NODE_TYPES.ChainExpression ||
      n.parent.type === AST_NODE_TYPES.AwaitExpression)
  ) {
    n = n.parent;
  }
  return { node: n, parent: n.parent };
}

/** The static name of a member's property (`a.b` → `b`, `a['b']` → `b`), else `undefined`. */
export function propertyName(node: TSESTree.MemberExpression | TSESTree.Property | TSESTree.PropertyDefinition): string | undefined {
  const key = node.type === AST_NODE_TYPES.MemberExpression ? node.property : node.key;
  if (key.type === AST_NODE_TYPES.Identifier && !(node.type === AST_NODE_TYPES.MemberExpression && node.computed)) return key.name;
  if (key.type === AST_NODE_TYPES.Literal && typeof key.value === 'string') return key.value;
  return undefined;
}

/** `true` when `node` is `obj.name(...)`'s callee pattern: a member with that property name. */
export function isMember(node: TSESTree.Node, name: string): node is TSESTree.MemberExpression {
  return node.type === AST_NODE_TYPES.MemberExpression && propertyName(node) === name;
}

/** `true` when `inner` lies within `outer` (inclusive). */
export function contains(outer: TSESTree.Node, inner: TSESTree.Node): boolean {
  return inner.range[0] >= outer.range[0] && inner.range[1] <= outer.range[1];
}

/** Visits every descendant of `root` (not entering nested functions unless `intoFunctions`). */
export function walk(root: TSESTree.Node, visit: (node: TSESTree.Node) => boolean | void, intoFunctions = false): void {
  const stack: TSESTree.Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (visit(node) === false) continue;
    for (const key of Object.keys(node)) {
      if (key === 'parent' || key === 'tokens' || key === 'comments') continue;
      const v = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) {
          const c = v[i] as TSESTree.Node | null;
          if (c && typeof c.type === 'string' && (intoFunctions || !isFunction(c))) stack.push(c);
        }
      } else if (v && typeof v === 'object' && typeof (v as TSESTree.Node).type === 'string') {
        const c = v as TSESTree.Node;
        if (intoFunctions || !isFunction(c)) stack.push(c);
      }
    }
  }
}

/** What an `anyNode` test returns for a node that does not match and whose inside is not to be searched either. */
export const PRUNE = 'prune';

/**
 * True when `test` holds for `root` or for a node inside it; stops at the first match. `test`
 * returns true (found), false (not this node: search inside it), or `PRUNE` (not this node nor
 * anything inside it). Nested functions are searched only with `intoFunctions` (as in `walk`).
 */
export function anyNode(root: TSESTree.Node, test: (node: TSESTree.Node) => boolean | typeof PRUNE, intoFunctions = false): boolean {
  let found = false;
  walk(
    root,
    (node) => {
      if (found) return false;
      const r = test(node);
      if (r === true) found = true;
      return r === false;
    },
    intoFunctions,
  );
  return found;
}

/** False for identifiers that name a property (`a.b`'s `b`, `{ b: 1 }`'s key) rather than a variable. */
export function isReference(id: TSESTree.Identifier): boolean {
  const p = id.parent;
  if (!p) return true;
  if (p.type === AST_NODE_TYPES.MemberExpression && p.property === id && !p.computed) return false;
  if (p.type === AST_NODE_TYPES.Property && p.key === id && !p.computed && !p.shorthand) return false;
  if ((p.type === AST_NODE_TYPES.PropertyDefinition || p.type === AST_NODE_TYPES.MethodDefinition) && p.key === id && !p.computed)
    return false;
  return true;
}
