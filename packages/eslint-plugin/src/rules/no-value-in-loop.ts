/**
 * no-value-in-loop: `ctx = withValue(ctx, …)` (or withCancel/withTimeout/withDeadline) re-assigned
 * to the same variable inside a loop builds an ever-longer chain: every lookup walks it, and every
 * link stays alive as long as the last one (Go's `fatcontext`).
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf, CONTEXT_DERIVERS } from '../util/analysis.js';
import { anyNode, contains, findAncestor, isFunction, isReference, unwrap } from '../util/ast.js';

type MessageIds = 'growing';
const MAKERS = CONTEXT_DERIVERS;
const LOOPS = new Set<string>([
  AST_NODE_TYPES.ForStatement,
  AST_NODE_TYPES.ForInStatement,
  AST_NODE_TYPES.ForOfStatement,
  AST_NODE_TYPES.WhileStatement,
  AST_NODE_TYPES.DoWhileStatement,
]);

export default createRule<[], MessageIds>({
  name: 'no-value-in-loop',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow re-deriving a context into the same variable inside a loop',
      recommended: true,
      requiresTypeChecking: false,
    },
    schema: [],
    messages: {
      growing:
        "`{{name}}` is re-derived from itself with {{maker}}() on every iteration: the chain grows without bound. Derive each iteration's context from the loop's parent context into a new variable.",
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);

    function makerCall(e: TSESTree.Node): TSESTree.CallExpression | undefined {
      let x = unwrap(e);
      if (x.type === AST_NODE_TYPES.MemberExpression) x = unwrap(x.object); // withCancel(ctx).ctx
      if (x.type !== AST_NODE_TYPES.CallExpression) return undefined;
      const name = a.coreCall(x);
      return name && MAKERS.has(name) ? x : undefined;
    }

    /** The nearest loop around `node` within its function. */
    function enclosingLoop(node: TSESTree.Node): TSESTree.Node | undefined {
      return findAncestor(node, (p) => LOOPS.has(p.type), isFunction);
    }

    return {
      AssignmentExpression(node) {
        if (node.operator !== '=' || node.left.type !== AST_NODE_TYPES.Identifier) return;
        const call = makerCall(node.right);
        const first = call?.arguments[0];
        if (!call || !first) return;
        const name = node.left.name;
        const selfRef = anyNode(first, (n) => n.type === AST_NODE_TYPES.Identifier && n.name === name && isReference(n));
        if (!selfRef) return;
        const loop = enclosingLoop(node);
        if (!loop) return;
        const v = a.variableOf(node.left);
        const def = v?.defs[0];
        if (def && contains(loop, def.name)) return; // declared inside the loop: fresh each iteration
        context.report({ node, messageId: 'growing', data: { name, maker: a.coreCall(call)! } });
      },
    };
  },
});
