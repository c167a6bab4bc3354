/**
 * no-double-timeout: an operation given both the context (or its signal) and a separate timeout
 * (`AbortSignal.timeout`, a client `timeout` option, pg `query_timeout`…) runs under two clocks
 * that disagree: the inner one ignores the caller's remaining budget and fails with a different
 * error. Derive one deadline instead: `withTimeout(ctx, ms)`.
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { propertyName, unwrap } from '../util/ast.js';

type MessageIds = 'double' | 'anyTimeout' | 'clientTimeout';

/** Option names that start a second clock. */
export const TIMEOUT_OPTIONS = new Set([
  'timeout',
  'timeoutMs',
  'timeout_ms',
  'query_timeout',
  'statement_timeout',
  'requestTimeout',
  'headersTimeout',
  'bodyTimeout',
  'socketTimeout',
]);

export default createRule<[], MessageIds>({
  name: 'no-double-timeout',
  meta: {
    type: 'problem',
    docs: {
      description: 'Disallow giving an operation both the context and a separate timeout',
      recommended: true,
      requiresTypeChecking: false,
    },
    schema: [],
    messages: {
      double:
        'This call gets the context and its own `{{option}}`: two clocks that disagree. Put the limit on the context instead (`withTimeout(ctx, ms)`), so it also bounds what the callee passes on.',
      clientTimeout:
        'This client is made where a context is in scope, with its own `{{option}}`: its queries run under two clocks that disagree. Leave the limit to the context (`withTimeout(ctx, ms)`), which also stops the statement in the server.',
      anyTimeout:
        "`AbortSignal.any` of the context's signal and `AbortSignal.timeout()` runs two clocks (and `AbortSignal.any` leaks on long-lived signals in Node 20): use `withTimeout(ctx, ms).ctx.signal`.",
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);

    const isSignalTimeout = (n: TSESTree.Node): boolean => a.freshKind(n) === 'AbortSignal.timeout()';

    function isZeroish(n: TSESTree.Node): boolean {
      const x = unwrap(n);
      return (
        (x.type === AST_NODE_TYPES.Identifier && x.name === 'undefined') ||
        (x.type === AST_NODE_TYPES.Literal && (x.value === 0 || x.value === null || x.value === false))
      );
    }

    function check(node: TSESTree.CallExpression | TSESTree.NewExpression): void {
      const callee = unwrap(node.callee);
      // AbortSignal.any([ctx.signal, AbortSignal.timeout(ms)])
      if (
        callee.type === AST_NODE_TYPES.MemberExpression &&
        callee.object.type === AST_NODE_TYPES.Identifier &&
        callee.object.name === 'AbortSignal' &&
        propertyName(callee) === 'any'
      ) {
        const arr = node.arguments[0];
        if (arr?.type === AST_NODE_TYPES.ArrayExpression) {
          const els = arr.elements.filter((e): e is TSESTree.Expression => !!e && e.type !== AST_NODE_TYPES.SpreadElement);
          if (els.some(isSignalTimeout) && els.some((e) => a.carriesContext(e))) {
            context.report({ node, messageId: 'anyTimeout' });
          }
        }
        return;
      }
      let hasCtx = false;
      let timeout: { node: TSESTree.Node; option: string } | undefined;
      let queryTimeout: TSESTree.Node | undefined;
      for (const arg of node.arguments) {
        const x = unwrap(arg);
        if (x.type === AST_NODE_TYPES.ObjectExpression) {
          for (const p of x.properties) {
            if (p.type !== AST_NODE_TYPES.Property) continue;
            const name = propertyName(p);
            if ((name === 'signal' || name === 'ctx') && a.carriesContext(p.value)) hasCtx = true;
            else if (name && TIMEOUT_OPTIONS.has(name) && !isZeroish(p.value)) {
              timeout ??= { node: p, option: name };
              if (name === 'query_timeout') queryTimeout ??= p;
            }
          }
        } else if (x.type !== AST_NODE_TYPES.SpreadElement && a.carriesContext(x)) hasCtx = true;
      }
      if (hasCtx && timeout) context.report({ node: timeout.node, messageId: 'double', data: { option: timeout.option } });
      // A pg client or pool made where a context is in scope, with its own client-side
      // `query_timeout`: its queries serve this function's work, which already has a deadline.
      else if (!hasCtx && queryTimeout && node.type === AST_NODE_TYPES.NewExpression && a.contextInScope(node)) {
        context.report({ node: queryTimeout, messageId: 'clientTimeout', data: { option: 'query_timeout' } });
      }
    }

    return { CallExpression: check, NewExpression: check };
  },
});
