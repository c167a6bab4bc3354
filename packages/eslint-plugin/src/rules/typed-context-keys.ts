/**
 * typed-context-keys: `withValue` (and `ctx.value`) keyed by anything not made by `createKey` —
 * strings and symbols collide across packages and lose the value's type.
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import ts from 'typescript';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { isMember, propertyName, unwrap } from '../util/ast.js';

type MessageIds = 'untyped';

export default createRule<[], MessageIds>({
  name: 'typed-context-keys',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require context value keys to be made by createKey',
      recommended: true,
      requiresTypeChecking: false,
    },
    schema: [],
    messages: {
      untyped:
        "Context values must be keyed by a `createKey()` key, not {{what}}: other keys collide across packages and lose the value's type.",
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);

    /** A description of a bad key, or `undefined` when it is (or may be) a Key. */
    function badKey(node: TSESTree.Node, depth = 0): string | undefined {
      const k = unwrap(node);
      switch (k.type) {
        case AST_NODE_TYPES.Literal:
          return typeof k.value === 'string' ? 'a string' : `a ${k.value === null ? 'null' : typeof k.value} literal`;
        case AST_NODE_TYPES.TemplateLiteral:
          return 'a string';
        case AST_NODE_TYPES.ObjectExpression:
          return 'an object literal';
        case AST_NODE_TYPES.ArrayExpression:
          return 'an array';
        case AST_NODE_TYPES.CallExpression: {
          const c = unwrap(k.callee);
          if (c.type === AST_NODE_TYPES.Identifier && c.name === 'Symbol') return 'a symbol';
          if (isMember(c, 'for') && c.object.type === AST_NODE_TYPES.Identifier && c.object.name === 'Symbol') return 'a symbol';
          if (a.coreCall(k) === 'createKey') return undefined;
          return byType(k);
        }
        case AST_NODE_TYPES.Identifier: {
          const def = a.variableOf(k)?.defs[0];
          if (def?.node.type === AST_NODE_TYPES.VariableDeclarator && def.node.id === def.name && def.node.init && depth < 3) {
            const inner = badKey(def.node.init, depth + 1);
            if (inner !== undefined) return inner;
            if (a.coreCall(def.node.init) === 'createKey') return undefined;
          }
          return byType(k);
        }
        case AST_NODE_TYPES.MemberExpression:
          return byType(k);
        default:
          return undefined;
      }
    }

    function byType(node: TSESTree.Node): string | undefined {
      const t = a.typeOf(node);
      if (!t || !a.checker) return undefined;
      if ((t.flags & ts.TypeFlags.StringLike) !== 0) return 'a string';
      if ((t.flags & ts.TypeFlags.ESSymbolLike) !== 0) return 'a symbol';
      if ((t.flags & ts.TypeFlags.NumberLike) !== 0) return 'a number';
      return undefined;
    }

    return {
      CallExpression(node) {
        if (a.coreCall(node) === 'withValue') {
          const key = node.arguments[1];
          const what = key && badKey(key);
          if (key && what) context.report({ node: key, messageId: 'untyped', data: { what } });
          return;
        }
        const c = unwrap(node.callee);
        if (
          c.type === AST_NODE_TYPES.MemberExpression &&
          propertyName(c) === 'value' &&
          node.arguments.length === 1 &&
          (a.syntacticCarrier(c.object) === 'context' || a.carrierOf(c.object) === 'context')
        ) {
          const key = node.arguments[0]!;
          const what = badKey(key);
          if (what) context.report({ node: key, messageId: 'untyped', data: { what } });
        }
      },
    };
  },
});
