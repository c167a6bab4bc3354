/**
 * Option-object checks shared by every ctxkit package, so a misspelt option fails loudly instead
 * of being silently ignored (a `timeoutMz` that never applies is a deadline that never fires).
 */

/**
 * Throws a `TypeError` when `options` has an own enumerable key that is not in `known`, naming
 * the function, the key, the closest known name when one is near (a typo), and the known names.
 * Keys whose value is `undefined` are tolerated (they set nothing). Call it once per options
 * object, where the object is validated — not per operation on a hot path.
 */
export function assertKnownOptions(options: object, known: readonly string[], fn: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const near = closest(key, known);
    throw new TypeError(
      `${fn}: unknown option '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; known options: ${known.join(', ')}`,
    );
  }
}

/** The known name within edit distance 2 of `key` (case-insensitive), if exactly one is nearest. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** Levenshtein distance, for short option names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
