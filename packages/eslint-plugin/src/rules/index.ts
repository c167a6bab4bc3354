/** Every rule of the plugin, by id (without the `ctxkit/` prefix). */
import lostCancel from './lost-cancel.js';
import passContext from './pass-context.js';
import noBackgroundInScope from './no-background-in-scope.js';
import noSwallowedCancel from './no-swallowed-cancel.js';
import noFloatingWork from './no-floating-work.js';
import typedContextKeys from './typed-context-keys.js';
import noContextInField from './no-context-in-field.js';
import noValueInLoop from './no-value-in-loop.js';
import noDoubleTimeout from './no-double-timeout.js';

/** The rules, keyed by id. */
export const rules = {
  'lost-cancel': lostCancel,
  'pass-context': passContext,
  'no-background-in-scope': noBackgroundInScope,
  'no-swallowed-cancel': noSwallowedCancel,
  'no-floating-work': noFloatingWork,
  'typed-context-keys': typedContextKeys,
  'no-context-in-field': noContextInField,
  'no-value-in-loop': noValueInLoop,
  'no-double-timeout': noDoubleTimeout,
};
