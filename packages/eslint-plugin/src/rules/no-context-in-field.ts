/**
 * no-context-in-field: a Context or AbortSignal kept in a class field or a module-level variable
 * outlives the operation it belongs to (Go's `containedctx`). Classes that own the lifetime of
 * their context (they hold the CancelScope/AbortController that ends it), classes that implement
 * Context, and classes on the `allowClasses` list are exempt.
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { anyNode, findAncestor, isClass, propertyName, unwrap } from '../util/ast.js';
import { isCancelScopeType, isContextType } from '../util/types.js';

type MessageIds = 'field' | 'module';

/**
 * Per-operation classes by naming convention: one instance is one operation (a job in a queue,
 * an in-flight request or call), so keeping that operation's context is its purpose.
 */
export const DEFAULT_ALLOW = ['/(Operation|Job|Task|Request|Call|Attempt)$/'];
type Options = [{ allowClasses?: string[] }];

export default createRule<Options, MessageIds>({
  name: 'no-context-in-field',
  meta: {
    type: 'suggestion',
    docs: {
      description: 'Disallow keeping a Context or AbortSignal in a class field or module-level variable',
      recommended: true,
      requiresTypeChecking: false,
    },
    schema: [
      {
        type: 'object',
        properties: {
          allowClasses: {
            type: 'array',
            items: { type: 'string' },
            description: 'Class names (or /regular expressions/) of per-operation classes allowed to keep a context.',
          },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      field:
        '{{what}} kept in field `{{name}}` of class {{cls}} outlives the operation it belongs to: pass it as a parameter to each method instead (or list the class in `allowClasses` if each instance is one operation).',
      module: '{{what}} kept in module-level variable `{{name}}` is shared by every operation: pass it as a parameter instead.',
    },
  },
  defaultOptions: [{ allowClasses: DEFAULT_ALLOW }],
  create(context, [opts]) {
    const a = analysisOf(context);
    const allow = (opts.allowClasses ?? DEFAULT_ALLOW).map((s) =>
      s.startsWith('/') && s.lastIndexOf('/') > 0 ? new RegExp(s.slice(1, s.lastIndexOf('/')), s.slice(s.lastIndexOf('/') + 1)) : s,
    );
    const allowed = (name: string | undefined): boolean =>
      name !== undefined && allow.some((p) => (typeof p === 'string' ? p === name : p.test(name)));

    /** 'Context' / 'AbortSignal' when the annotation, initializer or type says so. */
    function carried(
      node: TSESTree.Node,
      annotation: TSESTree.TypeNode | undefined,
      init: TSESTree.Node | null | undefined,
    ): string | undefined {
      if (annotation?.type === AST_NODE_TYPES.TSTypeReference) {
        const tn = annotation.typeName;
        const name =
          tn.type === AST_NODE_TYPES.Identifier ? tn.name : tn.type === AST_NODE_TYPES.TSQualifiedName ? tn.right.name : undefined;
        if (!a.checker && (name === 'Context' || name === 'AbortSignal')) return name;
      }
      const k = a.carrierOf(node) ?? (init ? (a.carrierOf(init) ?? syntacticInit(init)) : undefined);
      return k === 'context' ? 'A Context' : k === 'signal' ? 'An AbortSignal' : undefined;
    }

    function syntacticInit(init: TSESTree.Node): 'context' | 'signal' | undefined {
      const core = a.coreCall(init);
      if (core === 'background' || core === 'todo' || core === 'withValue' || core === 'withoutCancel') return 'context';
      const k = a.syntacticCarrier(init);
      return k === 'context' || k === 'signal' ? k : undefined;
    }

    /** A class that owns its context's lifetime, implements Context, or is allow-listed. */
    function exempt(cls: TSESTree.ClassDeclaration | TSESTree.ClassExpression): boolean {
      if (allowed(cls.id?.name)) return true;
      if (fileImplementsContext()) return true;
      if (a.isContextClass(cls)) return true;
      // Owns the lifetime: makes a scope or an AbortController, or keeps a CancelScope.
      return anyNode(
        cls.body,
        (n) => {
          if (a.isScopeMaker(n)) return true;
          if (n.type === AST_NODE_TYPES.NewExpression && n.callee.type === AST_NODE_TYPES.Identifier && n.callee.name === 'AbortController')
            return true;
          if (n.type !== AST_NODE_TYPES.PropertyDefinition || !a.checker) return false;
          const t = a.typeOf(n.key);
          return t !== undefined && isCancelScopeType(t, a.checker);
        },
        true,
      );
    }

    function classOf(node: TSESTree.Node): TSESTree.ClassDeclaration | TSESTree.ClassExpression | undefined {
      return findAncestor(node, isClass);
    }

    /** Files that implement contexts themselves (a class implementing Context) are exempt from the module check. */
    let implementsContext: boolean | undefined;
    function fileImplementsContext(): boolean {
      implementsContext ??= anyNode(context.sourceCode.ast, (n) => isClass(n) && exemptAsContext(n));
      return implementsContext;
    }
    function exemptAsContext(cls: TSESTree.ClassDeclaration | TSESTree.ClassExpression): boolean {
      if (cls.implements.some((i) => i.expression.type === AST_NODE_TYPES.Identifier && i.expression.name === 'Context')) return true;
      if (!a.checker) return false;
      const inst = a.typeOf(cls)?.getConstructSignatures()[0]?.getReturnType();
      return inst !== undefined && isContextType(inst, a.checker);
    }

    const declared = new WeakMap<object, Set<string>>();
    function declaredFields(cls: TSESTree.ClassDeclaration | TSESTree.ClassExpression): Set<string> {
      let s = declared.get(cls);
      if (!s) {
        s = new Set();
        for (const m of cls.body.body) {
          if (m.type === AST_NODE_TYPES.PropertyDefinition) {
            const n = propertyName(m);
            if (n) s.add(n);
          }
          if (m.type === AST_NODE_TYPES.MethodDefinition && m.kind === 'constructor') {
            for (const p of m.value.params) {
              if (p.type === AST_NODE_TYPES.TSParameterProperty) {
                const id = p.parameter.type === AST_NODE_TYPES.AssignmentPattern ? p.parameter.left : p.parameter;
                if (id.type === AST_NODE_TYPES.Identifier) s.add(id.name);
              }
            }
          }
        }
        declared.set(cls, s);
      }
      return s;
    }

    return {
      PropertyDefinition(node) {
        const cls = classOf(node);
        if (!cls) return;
        const what = carried(node.key, node.typeAnnotation?.typeAnnotation, node.value);
        if (!what || exempt(cls)) return;
        context.report({ node, messageId: 'field', data: { what, name: propertyName(node) ?? '?', cls: cls.id?.name ?? '(anonymous)' } });
      },
      TSParameterProperty(node) {
        const cls = classOf(node);
        if (!cls) return;
        const id = node.parameter.type === AST_NODE_TYPES.AssignmentPattern ? node.parameter.left : node.parameter;
        if (id.type !== AST_NODE_TYPES.Identifier) return;
        const what = carried(id, id.typeAnnotation?.typeAnnotation, undefined);
        if (!what || exempt(cls)) return;
        context.report({ node, messageId: 'field', data: { what, name: id.name, cls: cls.id?.name ?? '(anonymous)' } });
      },
      AssignmentExpression(node) {
        const left = unwrap(node.left);
        if (left.type !== AST_NODE_TYPES.MemberExpression || left.object.type !== AST_NODE_TYPES.ThisExpression) return;
        const name = propertyName(left);
        const cls = classOf(node);
        if (!cls || !name || declaredFields(cls).has(name)) return;
        const k = a.syntacticCarrier(node.right) ?? a.carrierOf(node.right);
        const what = k === 'context' ? 'A Context' : k === 'signal' ? 'An AbortSignal' : undefined;
        if (!what || exempt(cls)) return;
        context.report({ node, messageId: 'field', data: { what, name, cls: cls.id?.name ?? '(anonymous)' } });
      },
      VariableDeclarator(node) {
        const decl = node.parent;
        const top =
          decl.parent?.type === AST_NODE_TYPES.Program ||
          (decl.parent?.type === AST_NODE_TYPES.ExportNamedDeclaration && decl.parent.parent?.type === AST_NODE_TYPES.Program);
        if (!top || node.id.type !== AST_NODE_TYPES.Identifier) return;
        const what = carried(node.id, node.id.typeAnnotation?.typeAnnotation, node.init);
        if (!what || fileImplementsContext()) return;
        context.report({ node, messageId: 'module', data: { what, name: node.id.name } });
      },
    };
  },
});
