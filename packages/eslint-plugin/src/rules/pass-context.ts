/**
 * pass-context: inside a function that has a context, a call to something that accepts a Context
 * or an AbortSignal (directly or as an options `signal`) passes none, or passes `background()`,
 * `todo()` or a fresh unrelated signal. Go's `contextcheck` and `noctx`.
 */
import { AST_NODE_TYPES, type TSESLint, type TSESTree } from '@typescript-eslint/utils';
import ts from 'typescript';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { carrierParams } from '../util/carriers.js';
import { propertyName, unwrap } from '../util/ast.js';

type MessageIds = 'missing' | 'fresh' | 'passContext' | 'passSignal';

const MAX_CALLEE = 40;

export default createRule<[], MessageIds>({
  name: 'pass-context',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require calls that accept a Context or AbortSignal to be given the context in scope',
      recommended: true,
      requiresTypeChecking: false,
    },
    hasSuggestions: true,
    schema: [],
    messages: {
      missing:
        '`{{callee}}` accepts a {{what}} but gets none, though this function has one: the work will not stop when the caller cancels.',
      fresh: '`{{callee}}` is given {{fresh}}, unrelated to the context this function has: the work will not stop when the caller cancels.',
      passContext: 'Pass `{{text}}`.',
      passSignal: 'Pass `signal: {{text}}`.',
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);
    const sc = context.sourceCode;

    function check(call: TSESTree.CallExpression | TSESTree.NewExpression): void {
      const fc = a.contextInScope(call);
      if (!fc) return;
      const callee = a.coreCall(call);
      if (callee === 'background' || callee === 'todo' || callee === 'withoutCancel') return;
      const params = carrierParams(a, call);
      if (params.length === 0) return;
      const args = call.arguments;
      // Satisfied when any argument (or an object literal's signal/ctx property) carries the context.
      for (const arg of args) {
        const x = unwrap(arg);
        if (x.type === AST_NODE_TYPES.ObjectExpression) {
          for (const p of x.properties) {
            if (
              p.type === AST_NODE_TYPES.Property &&
              (propertyName(p) === 'signal' || propertyName(p) === 'ctx') &&
              a.carriesContext(p.value)
            )
              return;
          }
        } else if (x.type !== AST_NODE_TYPES.SpreadElement && a.carriesContext(x)) return;
      }
      const calleeText = truncate(sc.getText(call.callee));
      for (const param of params) {
        const index = param.last ? args.length - 1 : param.index;
        const arg = index >= 0 ? args[index] : undefined;
        const what = param.kind === 'context' ? 'Context' : param.kind === 'signal' ? 'AbortSignal' : '`signal` option';
        const text = param.kind === 'context' ? fc.contextText : fc.signalText;
        if (!arg) {
          if (param.last) continue;
          const suggest: TSESLint.SuggestionReportDescriptor<MessageIds>[] = [];
          if (text && index === args.length) {
            const insert = param.kind === 'options' ? `{ signal: ${text} }` : text;
            const last = args[args.length - 1];
            const closing = sc.getLastToken(call)!;
            suggest.push({
              messageId: param.kind === 'options' ? 'passSignal' : 'passContext',
              data: { text },
              fix: (f) =>
                last ? f.insertTextAfter(last, `, ${insert}`) : closing.value === ')' ? f.insertTextBefore(closing, insert) : null,
            });
          }
          context.report({ node: call, messageId: 'missing', data: { callee: calleeText, what }, suggest });
          return;
        }
        const x = unwrap(arg);
        if (param.kind !== 'options' || x.type !== AST_NODE_TYPES.ObjectExpression) {
          const fresh = a.freshKind(x);
          if (fresh) {
            const suggest =
              text && param.kind !== 'options'
                ? [{ messageId: 'passContext' as const, data: { text }, fix: (f: TSESLint.RuleFixer) => f.replaceText(arg, text) }]
                : [];
            context.report({ node: arg, messageId: 'fresh', data: { callee: calleeText, fresh }, suggest });
            return;
          }
          if (x.type === AST_NODE_TYPES.Identifier && x.name === 'undefined') {
            context.report({ node: arg, messageId: 'missing', data: { callee: calleeText, what } });
            return;
          }
          if (param.kind === 'options' && !mayHaveSignal(x)) {
            context.report({ node: arg, messageId: 'missing', data: { callee: calleeText, what } });
            return;
          }
          continue;
        }
        // An options object literal.
        let sawSpread = false;
        for (const p of x.properties) {
          if (p.type === AST_NODE_TYPES.SpreadElement) sawSpread = true;
          else if (propertyName(p) === 'signal') {
            const fresh = a.freshKind(p.value);
            const v = unwrap(p.value);
            if (fresh || (v.type === AST_NODE_TYPES.Identifier && v.name === 'undefined')) {
              const suggest = text
                ? [{ messageId: 'passContext' as const, data: { text }, fix: (f: TSESLint.RuleFixer) => f.replaceText(p.value, text) }]
                : [];
              context.report({ node: p.value, messageId: fresh ? 'fresh' : 'missing', data: { callee: calleeText, fresh, what }, suggest });
            }
            return; // some other signal: not ours to judge
          }
        }
        if (sawSpread) return;
        const suggest: TSESLint.SuggestionReportDescriptor<MessageIds>[] = [];
        if (text) {
          const lastProp = x.properties[x.properties.length - 1];
          suggest.push({
            messageId: 'passSignal',
            data: { text },
            fix: (f) => (lastProp ? f.insertTextAfter(lastProp, `, signal: ${text}`) : f.replaceText(x, `{ signal: ${text} }`)),
          });
        }
        context.report({ node: arg, messageId: 'missing', data: { callee: calleeText, what }, suggest });
        return;
      }
    }

    /** False only when the argument's type is known and has no `signal` property at all. */
    function mayHaveSignal(arg: TSESTree.Node): boolean {
      if (!a.checker) return true;
      const t = a.typeOf(arg);
      if (!t || (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0) return true;
      const parts = t.isUnion() ? t.types : [t];
      return parts.some(
        (p) => (p.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) !== 0 || a.checker!.getPropertyOfType(p, 'signal') !== undefined,
      );
    }

    return {
      CallExpression: check,
      NewExpression: check,
    };
  },
});

function truncate(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > MAX_CALLEE ? one.slice(0, MAX_CALLEE - 1) + '…' : one;
}
