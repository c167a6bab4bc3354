/**
 * Two small helpers every package's error paths share, so a bad argument is named the same way
 * everywhere and a thrown non-Error never reaches a caller as something without a stack.
 */

/**
 * How an error message names a value the caller passed: `null`, `undefined`, `an array`, the
 * constructor name of an object (`a Map`, `an Object`; `a function`), or the primitive's type
 * (`string`, `number`, …; `NaN` for a number that is not one). Never includes the value itself,
 * which may be large or secret.
 */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && Number.isNaN(v)) return 'NaN';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') {
    const name = (v as object).constructor?.name ?? 'Object';
    return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
  }
  return typeof v;
}

/**
 * `e` when it is an Error, otherwise an Error whose message is `String(e)` (and whose `cause` is
 * `e`), for code that must reject or report with an Error whatever a callback threw.
 */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e), { cause: e });
}
