/**
 * no-swallowed-cancel: a `catch` (or `.catch()` handler) around context-aware work that neither
 * rethrows the error nor checks whether it is a context error before carrying on — the
 * cancellation is turned into a normal outcome and the caller keeps working for nobody.
 */
import { AST_NODE_TYPES, type TSESTree } from '@typescript-eslint/utils';
import { createRule } from '../util/create-rule.js';
import { analysisOf } from '../util/analysis.js';
import { anyNode, isFunction, isMember, isReference, propertyName, PRUNE, unwrap } from '../util/ast.js';

type MessageIds = 'swallowed';

/** Functions whose call counts as a check for a context error. */
const CHECK_NAME = /^(isContextError|isCanceled|isDeadlineExceeded)$|abort|cancel|contexterror|deadline|timeout/i;
/** Receivers and methods of logging calls: passing the error to these is not handing it on. */
const LOGGER_OBJECT = /^(console|log|logger|.*Logger|span|Sentry|debug)$/;
const LOG_METHOD = /^(log|warn|error|info|debug|trace|fatal|recordException|captureException|setStatus)$/;
const ERROR_NAMES = new Set(['AbortError', 'TimeoutError', 'ABORT_ERR']);

export default createRule<[], MessageIds>({
  name: 'no-swallowed-cancel',
  meta: {
    type: 'problem',
    docs: {
      description: 'Require catch blocks around context-aware work to rethrow or check for context errors',
      recommended: true,
      requiresTypeChecking: false,
    },
    schema: [],
    messages: {
      swallowed:
        "This {{what}} can receive the context's cancellation error and carries on without rethrowing it or checking `isContextError(e)` first: the caller keeps working for nobody.",
    },
  },
  defaultOptions: [],
  create(context) {
    const a = analysisOf(context);

    /** True when `root` calls something with the context (or checks it), so it can throw a context error. */
    function contextAware(root: TSESTree.Node): boolean {
      return anyNode(
        root,
        (n) => {
          if (a.coreCall(n) === 'withoutCancel') return PRUNE; // detached: not the caller's cancellation
          if (n.type !== AST_NODE_TYPES.CallExpression && n.type !== AST_NODE_TYPES.NewExpression) return false;
          if (n.callee.type === AST_NODE_TYPES.MemberExpression) {
            const name = propertyName(n.callee);
            if ((name === 'throwIfDone' || name === 'throwIfAborted') && a.carriesContext(n.callee.object)) return true;
          }
          for (const arg of n.arguments) {
            const x = unwrap(arg);
            if (x.type === AST_NODE_TYPES.ObjectExpression) {
              for (const p of x.properties) {
                if (
                  p.type === AST_NODE_TYPES.Property &&
                  (propertyName(p) === 'signal' || propertyName(p) === 'ctx') &&
                  a.carriesContext(p.value) &&
                  !a.isDetached(p.value)
                )
                  return true;
              }
            } else if (x.type !== AST_NODE_TYPES.SpreadElement && !isFunction(x) && a.carriesContext(x) && !a.isDetached(x)) return true;
          }
          return false;
        },
        true,
      );
    }

    /** True when a handler body rethrows/hands on the error, or checks for a context error. */
    function handles(body: TSESTree.Node, param: TSESTree.Node | null | undefined): boolean {
      const paramName = param?.type === AST_NODE_TYPES.Identifier ? param.name : undefined;
      const mentionsParam = (n: TSESTree.Node): boolean =>
        paramName !== undefined && anyNode(n, (m) => m.type === AST_NODE_TYPES.Identifier && m.name === paramName && isReference(m), true);
      if (body.type !== AST_NODE_TYPES.BlockStatement) {
        // concise arrow: `(e) => fallback` carries on unless it is a check or rethrow call
        return exprHandles(body, mentionsParam);
      }
      return anyNode(body, (n) => {
        // A throw hands on the error when it throws the caught one (or the catch binds none).
        if (n.type === AST_NODE_TYPES.ThrowStatement) return !paramName || mentionsParam(n.argument) ? true : PRUNE;
        if (isPromiseReject(n) && mentionsParam(n)) return true;
        // Stored for later (`lastError = e`, `this.failure = e`): handed on.
        if (n.type === AST_NODE_TYPES.AssignmentExpression && mentionsParam(n.right)) return true;
        return isCheck(n) || (n.type === AST_NODE_TYPES.CallExpression && handsOn(n, mentionsParam));
      });
    }

    function exprHandles(e: TSESTree.Node, mentionsParam: (n: TSESTree.Node) => boolean): boolean {
      return anyNode(
        e,
        (n) =>
          isCheck(n) ||
          (n.type === AST_NODE_TYPES.CallExpression && (handsOn(n, mentionsParam) || (isPromiseReject(n) && mentionsParam(n)))),
      );
    }

    function isPromiseReject(n: TSESTree.Node): boolean {
      const x = unwrap(n);
      return (
        x.type === AST_NODE_TYPES.CallExpression &&
        isMember(x.callee, 'reject') &&
        x.callee.object.type === AST_NODE_TYPES.Identifier &&
        x.callee.object.name === 'Promise'
      );
    }

    /** A call given the error (`reject(e)`, `next(e)`, `this.fail(e)`), other than a logging call. */
    function handsOn(call: TSESTree.CallExpression, mentionsParam: (n: TSESTree.Node) => boolean): boolean {
      if (!call.arguments.some(mentionsParam)) return false;
      const c = unwrap(call.callee);
      if (c.type === AST_NODE_TYPES.MemberExpression) {
        const method = propertyName(c);
        if (method && LOG_METHOD.test(method)) return false;
        const obj = unwrap(c.object);
        const objName =
          obj.type === AST_NODE_TYPES.Identifier ? obj.name : obj.type === AST_NODE_TYPES.MemberExpression ? propertyName(obj) : undefined;
        if (objName && LOGGER_OBJECT.test(objName)) return false;
      }
      if (c.type === AST_NODE_TYPES.Identifier && LOG_METHOD.test(c.name)) return false;
      return true;
    }

    function isCheck(n: TSESTree.Node): boolean {
      switch (n.type) {
        case AST_NODE_TYPES.CallExpression: {
          const c = unwrap(n.callee);
          const name =
            c.type === AST_NODE_TYPES.Identifier ? c.name : c.type === AST_NODE_TYPES.MemberExpression ? propertyName(c) : undefined;
          return name !== undefined && (CHECK_NAME.test(name) || name === 'throwIfDone' || name === 'throwIfAborted');
        }
        case AST_NODE_TYPES.MemberExpression: {
          const name = propertyName(n);
          if (name === 'aborted') return true;
          if (name === 'err' && a.carriesContext(n.object)) return true;
          return false;
        }
        case AST_NODE_TYPES.BinaryExpression:
          if (n.operator === 'instanceof') {
            const r = unwrap(n.right);
            return r.type === AST_NODE_TYPES.Identifier && /^(CanceledError|DeadlineExceededError|DOMException)$/.test(r.name);
          }
          if (n.operator === '===' || n.operator === '==' || n.operator === '!==' || n.operator === '!=') {
            return [n.left, n.right].some(
              (s) => s.type === AST_NODE_TYPES.Literal && typeof s.value === 'string' && ERROR_NAMES.has(s.value),
            );
          }
          return false;
        case AST_NODE_TYPES.SwitchCase:
          return n.test?.type === AST_NODE_TYPES.Literal && typeof n.test.value === 'string' && ERROR_NAMES.has(n.test.value);
        default:
          return false;
      }
    }

    /** True when the statement after `tryStmt` re-checks the context before anything else. */
    function checkedAfter(tryStmt: TSESTree.TryStatement): boolean {
      const parent = tryStmt.parent;
      if (parent?.type !== AST_NODE_TYPES.BlockStatement) return false;
      const next = parent.body[parent.body.indexOf(tryStmt) + 1];
      return next !== undefined && anyNode(next, isCheck);
    }

    return {
      CatchClause(node) {
        const tryStmt = node.parent;
        if (!contextAware(tryStmt.block)) return;
        if (handles(node.body, node.param)) return;
        if (checkedAfter(tryStmt)) return;
        context.report({
          node,
          loc: { start: node.loc.start, end: { line: node.loc.start.line, column: node.loc.start.column + 5 } },
          messageId: 'swallowed',
          data: { what: 'catch' },
        });
      },
      CallExpression(node) {
        const callee = unwrap(node.callee);
        if (callee.type !== AST_NODE_TYPES.MemberExpression) return;
        const name = propertyName(callee);
        const handler = name === 'catch' ? node.arguments[0] : name === 'then' ? node.arguments[1] : undefined;
        if (!handler || !isFunction(handler)) return;
        if (!contextAware(callee.object)) return;
        if (handles(handler.body, handler.params[0])) return;
        context.report({ node: handler, messageId: 'swallowed', data: { what: `.${name}() handler` } });
      },
    };
  },
});
