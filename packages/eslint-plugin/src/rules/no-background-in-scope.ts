/**
 * no-background-in-scope: `background()`, `todo()` or an AbortController not linked to the
 * context, made inside a function that already has a context: the work started from it ignores
 * the caller's cancellation and deadline.
 */
import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { anyNode, contains, isReference, outerParent, PRUNE } from '../util/ast.js';

type MessageIds = 'root' | 'controller' | 'useContext' | 'useWithoutCancel';

export default createRule<[], MessageIds>({
  name: 'no-background-in-scope',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow background(), todo() and unlinked AbortControllers inside a function that has a context',
      recommended: true,
      requiresTypeChecking: false,
    },
    hasSuggestions: true,
    schema: [],
    messages: {
      root: "`{{name}}()` inside a function that already has a context cuts the caller's cancellation and deadline. Derive from `{{text}}` (or use `withoutCancel({{text}})` for deliberate cleanup).",
      controller:
        'This AbortController is not linked to the context this function has: aborting the caller will not abort it. Derive a scope with `withCancel({{text}})` or link it to `{{signal}}`.',
      useContext: 'Use `{{text}}`.',
      useWithoutCancel: 'Use `withoutCancel({{text}})` (keeps values, drops cancellation deliberately).',
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);
    return {
      CallExpression(node) {
        const name = a.coreCall(node);
        if (name !== 'background' && name !== 'todo') return;
        const fc = a.contextInScope(node);
        if (!fc?.contextText) return;
        const text = fc.contextText;
        const suggest: TSESLint.SuggestionReportDescriptor<MessageIds>[] = [
          { messageId: 'useContext', data: { text }, fix: (f) => f.replaceText(node, text) },
        ];
        const wc = a.localCoreName('withoutCancel');
        if (wc) suggest.push({ messageId: 'useWithoutCancel', data: { text }, fix: (f) => f.replaceText(node, `${wc}(${text})`) });
        context.report({ node, messageId: 'root', data: { name, text }, suggest });
      },
      NewExpression(node) {
        if (node.callee.type !== AST_NODE_TYPES.Identifier || node.callee.name !== 'AbortController') return;
        const fc = a.contextInScope(node);
        if (!fc) return;
        if (linked(node, fc.fn)) return;
        context.report({ node, messageId: 'controller', data: { text: fc.contextText ?? 'ctx', signal: fc.signalText ?? 'signal' } });
      },
    };

    /**
     * A controller is linked when some call mentions both the controller and the context (e.g.
     * `signal.addEventListener('abort', () => ac.abort())`, `afterFunc(ctx, () => ac.abort())`,
     * `ac.abort(ctx.err)`), or when it is returned/handed on to be linked elsewhere.
     */
    function linked(node: TSESTree.NewExpression, fn: TSESTree.Node): boolean {
      const { parent } = outerParent(node);
      let id: TSESTree.Identifier | undefined;
      if (parent?.type === AST_NODE_TYPES.VariableDeclarator && parent.id.type === AST_NODE_TYPES.Identifier) id = parent.id;
      else if (parent?.type === AST_NODE_TYPES.AssignmentExpression && parent.left.type === AST_NODE_TYPES.Identifier) id = parent.left;
      else return parent?.type !== AST_NODE_TYPES.MemberExpression && parent?.type !== AST_NODE_TYPES.ExpressionStatement;
      const v = a.variableOf(id);
      if (!v) return true;
      const refs = v.references.filter((r) => !r.init).map((r) => r.identifier);
      return anyNode(
        fn,
        (n) => {
          if (n.type !== AST_NODE_TYPES.CallExpression) return false;
          if (!refs.some((r) => contains(n, r))) return PRUNE;
          // The call mentions the controller: linked when it mentions the context too.
          return anyNode(n, (m) => m.type === AST_NODE_TYPES.Identifier && isReference(m) && a.syntacticCarrier(m) !== undefined, true);
        },
        true,
      );
    }
  },
});
