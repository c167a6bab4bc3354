/** Every rule of the plugin, by id (without the `ctxkit/` prefix). */
import lostCancel from './lost-cancel.js';
import passContext from './pass-context.js';
import noBackgroundInScope from './no-background-in-scope.js';

/** The rules, keyed by id. */
export const rules = {
  'lost-cancel': lostCancel,
  'pass-context': passContext,
  'no-background-in-scope': noBackgroundInScope,
};
