/**
 * lost-cancel: the CancelScope from withCancel/withTimeout/withDeadline/fromSignal (or an
 * AbortController made in the function) is neither cancelled on every path nor returned, stored or
 * handed on. Go's `go vet lostcancel`, with exceptions and `await` counted as paths.
 */
import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { type FunctionNode, contains, enclosingFunction, outerParent, propertyName, walk } from '../util/ast.js';

type Variable = TSESLint.Scope.Variable;
type MessageIds = 'neverCancelled' | 'notOnEveryPath' | 'discarded' | 'controllerNeverAborted' | 'useUsing';

/** How a tracked reference behaves; for `cancel`, `call` is the cancelling call. */
type RefUse = { kind: 'cancel'; call: TSESTree.Node } | { kind: 'handedOn' | 'deferred' | 'use' };

export default createRule<[], MessageIds>({
  name: 'lost-cancel',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require every CancelScope (and AbortController) made in a function to be cancelled on every path, or handed on',
      recommended: true,
      requiresTypeChecking: false,
    },
    hasSuggestions: true,
    schema: [],
    messages: {
      neverCancelled:
        'The scope from {{maker}}() is never cancelled: its context stays linked to the parent (and its timer queued) until the parent ends. Use `using`, or cancel it in `finally`.',
      notOnEveryPath:
        'The scope from {{maker}}() is not cancelled on every path: the {{exit}} on line {{line}} leaves without cancelling. Use `using`, or cancel it in `finally`.',
      discarded:
        'The scope from {{maker}}() is discarded, so nobody can cancel it: its context stays linked to the parent until the parent ends. Keep the scope and cancel it (or `using`).',
      controllerNeverAborted:
        "This AbortController is never aborted nor handed on, so its signal can never fire. Abort it when the work is done, or link it to the caller's context.",
      useUsing: 'Declare it with `using` so it is cancelled when the block exits.',
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);
    const sc = context.sourceCode;

    function classifyScopeRef(id: TSESTree.Identifier, isCancelFn: boolean, fn: FunctionNode): RefUse {
      const use = classifyUse(id, isCancelFn);
      // A cancel inside a callback (an event handler, a timer, afterFunc) is a deferred cancel.
      if (use.kind === 'cancel' && enclosingFunction(id) !== fn) return { kind: 'deferred' };
      return use;
    }

    function classifyUse(id: TSESTree.Identifier, isCancelFn: boolean): RefUse {
      const { node, parent } = outerParent(id);
      if (isCancelFn) {
        if (parent?.type === AST_NODE_TYPES.CallExpression && parent.callee === node) return { kind: 'cancel', call: parent };
        return { kind: 'handedOn' };
      }
      if (parent?.type === AST_NODE_TYPES.MemberExpression && parent.object === node) {
        const name = propertyName(parent);
        const up = outerParent(parent);
        if (up.parent?.type === AST_NODE_TYPES.CallExpression && up.parent.callee === up.node) {
          if (name === 'cancel') return { kind: 'cancel', call: up.parent };
          if (parent.computed && sc.getText(parent.property) === 'Symbol.dispose') return { kind: 'cancel', call: up.parent };
        }
        if (name === 'cancel') return { kind: 'handedOn' }; // e.g. signal.addEventListener('abort', scope.cancel)
        return { kind: 'use' };
      }
      return { kind: 'handedOn' };
    }

    /** The statement list and index that `node` sits in directly (climbing only through plain statements). */
    function anchorOf(node: TSESTree.Node, fn: FunctionNode): { list: TSESTree.Node[]; index: number } | undefined {
      let n: TSESTree.Node = node;
      let skipped = false;
      for (let p = n.parent; p && p !== fn; n = p, p = p.parent) {
        // A cancel directly in a `finally` anchors at the try statement (once: outer blocks are lists).
        if (
          !skipped &&
          p.type === AST_NODE_TYPES.BlockStatement &&
          p.parent?.type === AST_NODE_TYPES.TryStatement &&
          p.parent.finalizer === p
        ) {
          skipped = true;
          continue;
        }
        if (p.type === AST_NODE_TYPES.BlockStatement || p.type === AST_NODE_TYPES.Program) {
          return { list: p.body, index: (p.body as TSESTree.Node[]).indexOf(n) };
        }
        if (
          p.type === AST_NODE_TYPES.ExpressionStatement ||
          p.type === AST_NODE_TYPES.CallExpression ||
          p.type === AST_NODE_TYPES.ChainExpression ||
          p.type === AST_NODE_TYPES.UnaryExpression ||
          p.type === AST_NODE_TYPES.AwaitExpression
        ) {
          continue;
        }
        if (p.type === AST_NODE_TYPES.TryStatement && p.finalizer === n) continue;
        return undefined; // conditional, loop, catch, expression operand …
      }
      return undefined;
    }

    /** True when the cancel at `p` runs on every path that reaches `exit` (or `end` of the list containing `declStmt`). */
    function dominates(cancel: TSESTree.Node, target: TSESTree.Node, fn: FunctionNode, atEnd: boolean): boolean {
      const anc = anchorOf(cancel, fn);
      if (!anc) return false;
      const stmt = anc.list[anc.index]!;
      if (atEnd) {
        // target is the declaration's statement: its list must contain (or be inside a statement of)
        // the anchor list, with the anchor after it.
        for (let n: TSESTree.Node | undefined = target; n && n !== fn; n = n.parent) {
          const i = anc.list.indexOf(n);
          if (i !== -1) return i < anc.index;
        }
        return false;
      }
      if (stmt.type === AST_NODE_TYPES.TryStatement && stmt.finalizer && contains(stmt.finalizer, cancel)) {
        if (contains(stmt.block, target) || (stmt.handler && contains(stmt.handler, target))) return true;
      }
      for (let n: TSESTree.Node | undefined = target; n && n !== fn; n = n.parent) {
        const i = anc.list.indexOf(n);
        if (i !== -1) return i > anc.index;
      }
      return false;
    }

    function caught(exit: TSESTree.Node, fn: FunctionNode, after: number): boolean {
      if (exit.type === AST_NODE_TYPES.ReturnStatement || exit.type === AST_NODE_TYPES.YieldExpression) return false;
      for (let n: TSESTree.Node = exit, p = n.parent; p && p !== fn; n = p, p = p.parent) {
        if (p.type === AST_NODE_TYPES.TryStatement && p.block === n && p.handler && p.range[0] > after) return true;
      }
      return false;
    }

    function completesNormally(list: TSESTree.Node[]): boolean {
      const last = list[list.length - 1];
      if (!last) return true;
      if (last.type === AST_NODE_TYPES.ReturnStatement || last.type === AST_NODE_TYPES.ThrowStatement) return false;
      if (last.type === AST_NODE_TYPES.IfStatement && last.alternate) {
        const branch = (s: TSESTree.Statement): boolean => !completesNormally(s.type === AST_NODE_TYPES.BlockStatement ? s.body : [s]);
        return !(branch(last.consequent) && branch(last.alternate));
      }
      return true;
    }

    function check(
      maker: string,
      report: TSESTree.Node,
      decl: TSESTree.Node,
      variable: Variable,
      isCancelFn: boolean,
      fn: FunctionNode,
      suggestUsing: TSESTree.VariableDeclaration | undefined,
    ): void {
      const cancels: TSESTree.Node[] = [];
      for (const ref of variable.references) {
        if (ref.init || contains(decl, ref.identifier)) continue;
        const use = classifyScopeRef(ref.identifier as TSESTree.Identifier, isCancelFn, fn);
        if (use.kind === 'handedOn' || use.kind === 'deferred') return;
        if (use.kind === 'cancel') cancels.push(use.call);
      }
      const suggest = suggestUsing
        ? [
            {
              messageId: 'useUsing' as const,
              fix: (f: TSESLint.RuleFixer) =>
                f.replaceTextRange([suggestUsing.range[0], suggestUsing.range[0] + suggestUsing.kind.length], 'using'),
            },
          ]
        : [];
      if (cancels.length === 0) {
        context.report({ node: report, messageId: 'neverCancelled', data: { maker }, suggest });
        return;
      }
      // Every exit after the declaration must be dominated by a cancel (or covered by finally).
      const after = decl.range[1];
      const exits: TSESTree.Node[] = [];
      walk(fn.body, (n) => {
        if (n.range[1] <= after) return false;
        if (
          n.type === AST_NODE_TYPES.ReturnStatement ||
          n.type === AST_NODE_TYPES.ThrowStatement ||
          n.type === AST_NODE_TYPES.AwaitExpression ||
          n.type === AST_NODE_TYPES.YieldExpression
        ) {
          if (n.range[0] >= after) exits.push(n);
        }
        return undefined;
      });
      for (const exit of exits) {
        if (caught(exit, fn, after)) continue;
        if (cancels.some((c) => dominates(c, exit, fn, false))) continue;
        if (exit.type === AST_NODE_TYPES.ReturnStatement && exit.argument && cancels.some((c) => contains(exit.argument!, c))) continue;
        const kind =
          exit.type === AST_NODE_TYPES.ReturnStatement
            ? 'return'
            : exit.type === AST_NODE_TYPES.ThrowStatement
              ? 'throw'
              : exit.type === AST_NODE_TYPES.AwaitExpression
                ? 'await (which may throw)'
                : 'yield';
        context.report({ node: report, messageId: 'notOnEveryPath', data: { maker, exit: kind, line: exit.loc.start.line }, suggest });
        return;
      }
      // Falling off the end of the declaration's block.
      let declStmt: TSESTree.Node = decl;
      while (declStmt.parent && declStmt.parent.type !== AST_NODE_TYPES.BlockStatement && declStmt.parent !== fn)
        declStmt = declStmt.parent;
      const list = declStmt.parent?.type === AST_NODE_TYPES.BlockStatement ? declStmt.parent.body : [];
      if (declStmt.parent?.type === AST_NODE_TYPES.BlockStatement && !completesNormally(list)) return;
      if (cancels.some((c) => dominates(c, declStmt, fn, true))) return;
      context.report({
        node: report,
        messageId: 'notOnEveryPath',
        data: { maker, exit: 'end of the block', line: (declStmt.parent ?? declStmt).loc.end.line },
        suggest,
      });
    }

    function varOf(id: TSESTree.Node): Variable | undefined {
      return id.type === AST_NODE_TYPES.Identifier ? a.variableOf(id) : undefined;
    }

    return {
      CallExpression(node) {
        if (!a.isScopeMaker(node)) return;
        const fn = enclosingFunction(node);
        if (!fn) return;
        const maker = a.coreCall(node)!;
        const { node: outer, parent } = outerParent(node);
        if (!parent) return;
        switch (parent.type) {
          case AST_NODE_TYPES.ExpressionStatement:
            context.report({ node, messageId: 'discarded', data: { maker } });
            return;
          case AST_NODE_TYPES.MemberExpression:
            if (parent.object === outer) context.report({ node, messageId: 'discarded', data: { maker } });
            return;
          case AST_NODE_TYPES.VariableDeclarator: {
            const declaration = parent.parent;
            if (declaration.kind === 'using' || declaration.kind === 'await using') return;
            const canUse =
              declaration.declarations.length === 1 && parent.id.type === AST_NODE_TYPES.Identifier && declaration.kind === 'const';
            if (parent.id.type === AST_NODE_TYPES.Identifier) {
              const v = varOf(parent.id);
              if (v) check(maker, node, parent, v, false, fn, canUse ? declaration : undefined);
              return;
            }
            if (parent.id.type === AST_NODE_TYPES.ObjectPattern) {
              let cancelVar: Variable | undefined;
              for (const p of parent.id.properties) {
                if (p.type === AST_NODE_TYPES.RestElement) {
                  const v = varOf(p.argument);
                  if (v) check(maker, node, parent, v, false, fn, undefined);
                  return;
                }
                if (propertyName(p) === 'cancel') cancelVar = varOf(p.value);
              }
              if (cancelVar) check(maker, node, parent, cancelVar, true, fn, undefined);
              else context.report({ node, messageId: 'discarded', data: { maker } });
            }
            return;
          }
          case AST_NODE_TYPES.AssignmentExpression: {
            if (parent.right !== outer || parent.left.type !== AST_NODE_TYPES.Identifier) return; // stored in a member: handed on
            const v = varOf(parent.left);
            if (
              v &&
              !v.defs.some((d) => d.node.type === AST_NODE_TYPES.VariableDeclarator && d.node.parent.parent.type === AST_NODE_TYPES.Program)
            ) {
              check(maker, node, parent, v, false, fn, undefined);
            }
            return;
          }
          default:
            return; // returned, passed, stored in a literal: handed on
        }
      },
      NewExpression(node) {
        if (node.callee.type !== AST_NODE_TYPES.Identifier || node.callee.name !== 'AbortController') return;
        if (a.variableOf(node.callee)?.defs.length) return; // a local class named AbortController
        const fn = enclosingFunction(node);
        if (!fn) return;
        const { parent } = outerParent(node);
        if (parent?.type === AST_NODE_TYPES.ExpressionStatement) {
          context.report({ node, messageId: 'controllerNeverAborted' });
          return;
        }
        let v: Variable | undefined;
        if (parent?.type === AST_NODE_TYPES.VariableDeclarator && parent.id.type === AST_NODE_TYPES.Identifier) v = varOf(parent.id);
        else if (parent?.type === AST_NODE_TYPES.AssignmentExpression && parent.left.type === AST_NODE_TYPES.Identifier)
          v = varOf(parent.left);
        if (!v) return;
        for (const ref of v.references) {
          if (ref.init || ref.isWrite()) continue;
          const { node: r, parent: rp } = outerParent(ref.identifier);
          if (rp?.type === AST_NODE_TYPES.MemberExpression && rp.object === r) {
            const name = propertyName(rp);
            if (name === 'signal') continue;
            if (name === 'abort') return;
            continue;
          }
          return; // handed on, stored, returned
        }
        context.report({ node, messageId: 'controllerNeverAborted' });
      },
    };
  },
});
