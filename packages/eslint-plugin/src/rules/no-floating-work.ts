/**
 * no-floating-work: a promise started while a context is in scope that is neither awaited,
 * returned, given to a Group/race/tracker, nor deliberately detached with `withoutCancel` — it
 * outlives the operation, so nobody sees its failure and nothing waits for it on shutdown.
 */
import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { anyNode, enclosingFunction, findAncestor, isFunction, isMember, PRUNE, unwrap } from '../util/ast.js';
import { isThenable } from '../util/types.js';

type MessageIds = 'floating' | 'floatingEach' | 'addAwait';

export default createRule<[], MessageIds>({
  name: 'no-floating-work',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require promises started while a context is in scope to be awaited, returned, tracked, or detached with withoutCancel',
      recommended: true,
      requiresTypeChecking: true,
    },
    hasSuggestions: true,
    schema: [],
    messages: {
      floating:
        'This promise is started while a context is in scope but nobody waits for it: await or return it, hand it to a Group/race, or detach it deliberately with `withoutCancel(ctx)`.',
      floatingEach:
        "{{method}} drops the promise its async callback returns: every item's work floats while a context is in scope. Use `for … of` with `await`, or `await Promise.all(items.map(…))`.",
      addAwait: 'Await it.',
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);

    /** The call that starts the work: the root of a `.then/.catch/.finally` chain. */
    function rootCall(e: TSESTree.Node): TSESTree.CallExpression | undefined {
      let x = unwrap(e);
      while (x.type === AST_NODE_TYPES.CallExpression) {
        const c = unwrap(x.callee);
        if (c.type === AST_NODE_TYPES.MemberExpression && (isMember(c, 'then') || isMember(c, 'catch') || isMember(c, 'finally'))) {
          x = unwrap(c.object);
          continue;
        }
        return x;
      }
      return undefined;
    }

    function detached(e: TSESTree.Node): boolean {
      return anyNode(
        e,
        (n) => {
          if (a.coreCall(n) === 'withoutCancel') return true;
          if (n.type !== AST_NODE_TYPES.Identifier) return false;
          const def = a.variableOf(n)?.defs[0];
          return def?.node.type === AST_NODE_TYPES.VariableDeclarator && !!def.node.init && a.coreCall(def.node.init) === 'withoutCancel';
        },
        true,
      );
    }

    function isPromise(e: TSESTree.Node): boolean {
      if (a.checker) {
        const t = a.typeOf(e);
        if (!t || !isThenable(t, a.checker)) return false;
        return ['catch', 'finally'].every((p) => (t.isUnion() ? t.types : [t]).some((u) => a.checker!.getPropertyOfType(u, p)));
      }
      // Without types: only fetch is known to return a promise.
      const root = rootCall(e);
      const c = root && unwrap(root.callee);
      return c?.type === AST_NODE_TYPES.Identifier && c.name === 'fetch';
    }

    /** True when the call chain passes a live (not detached) context carrier to the work. */
    function passesContext(e: TSESTree.Node): boolean {
      return anyNode(e, (n) => {
        if (n.type !== AST_NODE_TYPES.Identifier && n.type !== AST_NODE_TYPES.MemberExpression) return false;
        if (a.syntacticCarrier(n) !== undefined && !a.isDetached(n)) return true;
        return n.type === AST_NODE_TYPES.MemberExpression ? false : PRUNE;
      });
    }

    /** Inside a `new Promise(executor)`: the enclosing promise is what tracks the work. */
    function inExecutor(node: TSESTree.Node): boolean {
      return (
        findAncestor(node, (fn) => {
          const p = fn.parent;
          return (
            isFunction(fn) &&
            p?.type === AST_NODE_TYPES.NewExpression &&
            p.arguments[0] === fn &&
            p.callee.type === AST_NODE_TYPES.Identifier &&
            p.callee.name === 'Promise'
          );
        }) !== undefined
      );
    }

    /** The statement's function is a non-async function passed straight to a call (an event handler). */
    function inPlainCallback(node: TSESTree.Node): boolean {
      const fn = enclosingFunction(node);
      return (
        !!fn &&
        !fn.async &&
        fn.parent?.type === AST_NODE_TYPES.CallExpression &&
        fn.parent.arguments.includes(fn as TSESTree.CallExpressionArgument)
      );
    }

    /** The chain ends in `.catch(h)` or `.then(a, b)`. */
    function handlesRejection(e: TSESTree.CallExpression): boolean {
      const c = unwrap(e.callee);
      return (isMember(c, 'catch') && e.arguments.length > 0) || (isMember(c, 'then') && e.arguments.length > 1);
    }

    /** True when `fn` returns a promise: it is `async`, or (with types) its return type is thenable. */
    function returnsPromise(fn: TSESTree.Node): boolean {
      if (fn.type !== AST_NODE_TYPES.ArrowFunctionExpression && fn.type !== AST_NODE_TYPES.FunctionExpression) return false;
      if (fn.async) return true;
      if (!a.checker) return false;
      const sig = a.typeOf(fn)?.getCallSignatures()[0];
      return !!sig && isThenable(sig.getReturnType(), a.checker);
    }

    return {
      // `items.forEach(async (x) => …)`: forEach drops every promise its callback returns; so does a
      // `map` whose array of promises is thrown away.
      CallExpression(node) {
        const c = unwrap(node.callee);
        const discardedMap = (isMember(c, 'map') || isMember(c, 'flatMap')) && node.parent.type === AST_NODE_TYPES.ExpressionStatement;
        if (!isMember(c, 'forEach') && !discardedMap) return;
        const cb = node.arguments[0] && unwrap(node.arguments[0]);
        if (!cb || !returnsPromise(cb)) return;
        if (!a.contextInScope(node) || detached(cb) || inExecutor(node)) return;
        context.report({ node, messageId: 'floatingEach', data: { method: discardedMap ? 'A discarded `map`' : '`forEach`' } });
      },
      ExpressionStatement(node) {
        let e = unwrap(node.expression);
        let voided = false;
        if (e.type === AST_NODE_TYPES.UnaryExpression && e.operator === 'void') {
          e = unwrap(e.argument);
          voided = true;
        }
        if (e.type !== AST_NODE_TYPES.CallExpression) return;
        const root = rootCall(e);
        if (!root) return;
        const rc = unwrap(root.callee);
        // Promise.resolve(p)/Promise.reject(e) wrap existing values: no work starts here.
        if (
          rc.type === AST_NODE_TYPES.MemberExpression &&
          rc.object.type === AST_NODE_TYPES.Identifier &&
          rc.object.name === 'Promise' &&
          (isMember(rc, 'resolve') || isMember(rc, 'reject'))
        )
          return;
        const fc = a.contextInScope(node);
        if (!fc) return;
        if (!isPromise(e)) return;
        if (detached(e)) return;
        // `void work()` deliberately ignores a promise; only work bound to the live context is still floating.
        if (voided && !passesContext(e)) return;
        if (inExecutor(node)) return;
        // An event callback cannot hand its promise to anyone; a chain that handles rejection is how it runs work.
        if (inPlainCallback(node) && handlesRejection(e)) return;
        const fn = enclosingFunction(node);
        const suggest: TSESLint.SuggestionReportDescriptor<MessageIds>[] =
          fn?.async && unwrap(node.expression).type === AST_NODE_TYPES.CallExpression
            ? [{ messageId: 'addAwait', fix: (f) => f.insertTextBefore(node.expression, 'await ') }]
            : [];
        context.report({ node, messageId: 'floating', suggest });
      },
    };
  },
});
