/**
 * Creation stacks for leak reports: captured only while a tracker or the explorer listens, kept
 * as a few primitive frames (no reference to the objects on the stack, so capturing never keeps a
 * scope alive), trimmed of frames inside @ctxkit/core and @ctxkit/testing, and mapped through
 * source maps (TypeScript positions under tsx) only when a report is printed.
 * @internal
 */
import { background, startOperation, subscribe } from '@ctxkit/core';

const MAX_FRAMES = 8;
const CAPTURE_LIMIT = 18;

/** One stack frame, as primitives. */
interface Frame {
  readonly fn: string | null;
  readonly file: string;
  readonly line: number;
  readonly col: number;
}

/** A captured stack: frames to format on demand (`toString`), or an already formatted string. */
export type Stack = Frame[] | string;

interface CallSiteLike {
  getFileName(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getFunctionName(): string | null;
  getMethodName(): string | null;
  getTypeName(): string | null;
  isAsync?(): boolean;
  isPromiseAll?(): boolean;
}

type ErrorCtor = ErrorConstructor & {
  captureStackTrace?: (target: object, ctor?: unknown) => void;
  prepareStackTrace?: (err: Error, stack: CallSiteLike[]) => unknown;
};
const E = Error as ErrorCtor;

let internalDirs: string[] | undefined;

function dirOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i >= 0 ? file.slice(0, i + 1) : file;
}

function isInternalFile(file: string, dirs: string[]): boolean {
  if (file.startsWith('node:') || file === '<anonymous>' || file === 'native') return true;
  for (const d of dirs) if (file.startsWith(d)) return true;
  return false;
}

/** Raw frames (all files) at the caller of `above`. */
function rawFrames(above: unknown): Frame[] | undefined {
  if (typeof E.captureStackTrace !== 'function') return undefined;
  const prevPrepare = E.prepareStackTrace;
  const prevLimit = E.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    E.stackTraceLimit = CAPTURE_LIMIT;
    E.prepareStackTrace = (_err, sites) => {
      const out: Frame[] = [];
      for (const s of sites) {
        const file = s.getFileName();
        if (typeof file !== 'string') continue;
        let fn = s.getFunctionName();
        if (fn === null) {
          const m = s.getMethodName();
          const t = s.getTypeName();
          if (m !== null) fn = t !== null ? `${t}.${m}` : m;
          else if (t !== null && t !== 'Object') fn = `${t}.<anonymous>`;
        }
        if (fn !== null && s.isAsync?.()) fn = `async ${fn}`;
        out.push({ fn, file, line: s.getLineNumber() ?? 0, col: s.getColumnNumber() ?? 0 });
      }
      return out;
    };
    E.captureStackTrace(holder, above);
    const frames = holder.stack; // formatted now, with our prepareStackTrace
    return Array.isArray(frames) ? (frames as Frame[]) : undefined;
  } catch {
    return undefined;
  } finally {
    E.prepareStackTrace = prevPrepare;
    E.stackTraceLimit = prevLimit;
  }
}

/**
 * Finds the directories of this package's and core's modules from a stack taken inside a hook
 * (our frame first, then core's). Done once per process.
 */
function discover(): string[] {
  const dirs: string[] = [];
  const own = rawFrames(discover)?.[0]?.file ?? fileOfStringFrame(frameLines(new Error().stack)[0]);
  // rawFrames(discover) starts at discover's caller; the caller is in this module too.
  if (own !== undefined) dirs.push(dirOf(own));
  let probe: string[] = [];
  const unsubscribe = subscribe({
    operationStarted() {
      probe =
        rawFrames(undefined)?.map((f) => f.file) ??
        frameLines(new Error().stack)
          .map(fileOfStringFrame)
          .filter((f): f is string => f !== undefined);
    },
  });
  try {
    startOperation(background(), '@ctxkit/testing:stack-probe').end();
  } finally {
    unsubscribe();
  }
  for (const f of probe) {
    const d = dirOf(f);
    if (!dirs.includes(d)) {
      dirs.push(d);
      break;
    }
  }
  return dirs;
}

function dirs(): string[] {
  return (internalDirs ??= discover());
}

/** The user's frames at the caller's position (cheap: formatting is deferred to `formatStack`). */
export function captureStack(): Stack {
  const d = dirs();
  const raw = rawFrames(captureStack);
  if (raw === undefined) return userFrames(new Error().stack);
  const out: Frame[] = [];
  for (const f of raw) {
    if (isInternalFile(f.file, d)) continue;
    out.push(f);
    if (out.length === MAX_FRAMES) break;
  }
  return out;
}

/**
 * The frame that called `above`, with its generated (not source-mapped) position, as a test
 * runner records the caller of its hooks; undefined when the engine gives no structured stack.
 */
export function callerSite(above: unknown): { file: string; line: number; col: number } | undefined {
  const f = rawFrames(above)?.[0];
  return f !== undefined && f.line > 0 ? { file: f.file, line: f.line, col: f.col } : undefined;
}

// ---- string stacks (errors thrown by user code, and engines without captureStackTrace) ----

function frameLines(raw: string | undefined): string[] {
  return (raw ?? '').split('\n').filter((l) => l.trim().startsWith('at '));
}

function fileOfStringFrame(line: string | undefined): string | undefined {
  if (line === undefined) return undefined;
  let s = line.trim().slice(3);
  if (s.endsWith(')')) {
    const open = s.lastIndexOf('(');
    if (open < 0) return undefined;
    s = s.slice(open + 1, -1);
  }
  const m = /^(.*?)(?::\d+){1,2}$/.exec(s);
  return m ? m[1] : s;
}

/** Keeps the user's frames of an already formatted V8 stack (e.g. a thrown error's). */
export function userFrames(raw: string | undefined): string {
  const d = dirs();
  return frameLines(raw)
    .filter((l) => {
      const f = fileOfStringFrame(l);
      return f !== undefined && !isInternalFile(f, d);
    })
    .slice(0, MAX_FRAMES)
    .map((l) => '    ' + l.trim())
    .join('\n');
}

// ---- formatting, with source maps when the platform has them ----

interface SourceMapLike {
  findEntry(line: number, col: number): { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
}
type FindSourceMap = (path: string) => SourceMapLike | undefined;

let findSourceMap: FindSourceMap | null | undefined;

function sourceMapFinder(): FindSourceMap | null {
  if (findSourceMap !== undefined) return findSourceMap;
  findSourceMap = null;
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.('node:module') as { findSourceMap?: FindSourceMap } | undefined;
    if (typeof mod?.findSourceMap === 'function') findSourceMap = mod.findSourceMap;
  } catch {
    findSourceMap = null;
  }
  return findSourceMap;
}

function position(f: Frame): string {
  const find = sourceMapFinder();
  if (find !== null && f.line > 0) {
    try {
      const map = find(f.file);
      const e = map?.findEntry(f.line - 1, f.col - 1);
      if (e?.originalSource !== undefined && e.originalLine !== undefined && e.originalColumn !== undefined) {
        return `${e.originalSource}:${e.originalLine + 1}:${e.originalColumn + 1}`;
      }
    } catch {
      // fall through to the generated position
    }
  }
  return `${f.file}:${f.line}:${f.col}`;
}

/** The stack as `    at fn (file:line:col)` lines (empty string when nothing was captured). */
export function formatStack(s: Stack): string {
  if (typeof s === 'string') return s;
  return s.map((f) => `    at ${f.fn !== null ? `${f.fn} (${position(f)})` : position(f)}`).join('\n');
}

/** Indents every line of `text` by `n` spaces (for nested report sections). */
export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l.length > 0 ? pad + l.trimStart() : l))
    .join('\n');
}
