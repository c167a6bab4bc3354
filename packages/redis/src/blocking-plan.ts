/**
 * Which commands block on the server, and the server-side timeout a blocking command is sent
 * with. Pure: no client, no I/O; both client adapters use it.
 *
 * Rules:
 * - Blocking: BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, WAIT, WAITAOF
 *   always; XREAD and XREADGROUP only with a BLOCK option before STREAMS.
 * - With a deadline, the command's timeout becomes min(the caller's timeout, remaining budget +
 *   margin), where a caller's 0 means "forever". Without one, the arguments are left as given.
 * - Units follow the command: seconds (fractions allowed, Redis ≥ 6) for the list and sorted-set
 *   commands, whole milliseconds for XREAD/XREADGROUP BLOCK, WAIT and WAITAOF. A clamped timeout is
 *   never 0 (that would block forever): at least 1 ms.
 * - A timeout argument that is missing or not a number is left alone, for Redis to reject with
 *   its own error.
 */

/** An argument as the clients accept it. */
export type RedisArg = string | number | Buffer;

/** Where a blocking command keeps its timeout, and in which unit. */
export interface BlockingTimeout {
  /** Index into the command's arguments (not counting the command name). */
  readonly index: number;
  readonly unit: 's' | 'ms';
}

const LAST_SECONDS = new Set(['BLPOP', 'BRPOP', 'BRPOPLPUSH', 'BLMOVE', 'BZPOPMIN', 'BZPOPMAX']);
const FIRST_SECONDS = new Set(['BLMPOP', 'BZMPOP']);
const LAST_MS = new Set(['WAIT', 'WAITAOF']);

function word(a: RedisArg | undefined): string | undefined {
  if (typeof a === 'string') return a.toUpperCase();
  if (Buffer.isBuffer(a) && a.length <= 16) return a.toString('latin1').toUpperCase();
  return undefined;
}

/**
 * Where `command` (any case) with `args` keeps its blocking timeout, or `undefined` when the
 * command does not block. `args` excludes the command name.
 */
export function blockingTimeout(command: string, args: readonly RedisArg[]): BlockingTimeout | undefined {
  const name = command.toUpperCase();
  if (LAST_SECONDS.has(name)) return args.length === 0 ? undefined : { index: args.length - 1, unit: 's' };
  if (FIRST_SECONDS.has(name)) return args.length === 0 ? undefined : { index: 0, unit: 's' };
  if (LAST_MS.has(name)) return args.length === 0 ? undefined : { index: args.length - 1, unit: 'ms' };
  if (name !== 'XREAD' && name !== 'XREADGROUP') return undefined;
  for (let i = 0; i < args.length; i++) {
    const w = word(args[i]);
    if (w === 'STREAMS') return undefined;
    if (w === 'BLOCK') return i + 1 < args.length ? { index: i + 1, unit: 'ms' } : undefined;
    // GROUP takes two operands and COUNT one; skip them so a group or consumer named "BLOCK" or
    // "STREAMS" is not read as an option.
    if (w === 'GROUP' && name === 'XREADGROUP') i += 2;
    else if (w === 'COUNT') i += 1;
  }
  return undefined;
}

/** True when `command` with `args` blocks on the server (see the module's rules). */
export function isBlocking(command: string, args: readonly RedisArg[]): boolean {
  return blockingTimeout(command, args) !== undefined;
}

function numeric(a: RedisArg | undefined): number | undefined {
  const s = typeof a === 'number' ? a : typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('latin1') : undefined;
  if (s === undefined || (typeof s === 'string' && s.trim() === '')) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * The arguments to send for a blocking command given `remainingMs` of budget (`Infinity` for no
 * deadline) and `marginMs`: `args` itself when nothing changes, else a copy with the timeout
 * clamped (see the module's rules). `args` excludes the command name.
 */
export function clampBlockingArgs(command: string, args: readonly RedisArg[], remainingMs: number, marginMs: number): readonly RedisArg[] {
  if (!Number.isFinite(remainingMs)) return args;
  const where = blockingTimeout(command, args);
  if (where === undefined) return args;
  const given = numeric(args[where.index]);
  if (given === undefined) return args;
  const givenMs = where.unit === 's' ? given * 1000 : given;
  const capMs = Math.max(1, Math.ceil(Math.max(0, remainingMs) + marginMs));
  if (givenMs !== 0 && givenMs <= capMs) return args;
  const out = args.slice();
  out[where.index] = where.unit === 's' ? (capMs / 1000).toFixed(3) : String(capMs);
  return out;
}
