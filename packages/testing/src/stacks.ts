/**
 * Creation stacks for leak reports: captured only while a tracker or the explorer listens, and
 * trimmed of frames inside @ctxkit/core and @ctxkit/testing so the first line is the user's code.
 * @internal
 */
import { background, startOperation, subscribe } from '@ctxkit/core';

const MAX_FRAMES = 10;
let internalDirs: string[] | undefined;

function frameFile(line: string): string | undefined {
  let s = line.trim();
  if (!s.startsWith('at ')) return undefined;
  s = s.slice(3);
  if (s.endsWith(')')) {
    const open = s.lastIndexOf('(');
    if (open < 0) return undefined;
    s = s.slice(open + 1, -1);
  }
  const m = /^(.*?)(?::\d+){1,2}$/.exec(s);
  return m ? m[1] : s;
}

function dirOf(file: string): string {
  const i = Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\'));
  return i >= 0 ? file.slice(0, i + 1) : file;
}

function frames(raw: string): string[] {
  return raw.split('\n').filter((l) => l.trim().startsWith('at '));
}

/**
 * Finds the directories of this package's and core's compiled modules, by looking at a stack
 * taken inside a hook (our frame first, then core's). Done once per process.
 */
function discover(): string[] {
  const dirs: string[] = [];
  const own = frames(new Error().stack ?? '').map(frameFile)[0];
  if (own !== undefined) dirs.push(dirOf(own));
  let probe = '';
  const unsubscribe = subscribe({
    operationStarted() {
      probe = new Error().stack ?? '';
    },
  });
  try {
    startOperation(background(), '@ctxkit/testing:stack-probe').end();
  } finally {
    unsubscribe();
  }
  for (const f of frames(probe).map(frameFile)) {
    if (f === undefined) continue;
    const d = dirOf(f);
    if (!dirs.includes(d)) {
      dirs.push(d);
      break;
    }
  }
  return dirs;
}

function isInternal(line: string, dirs: string[]): boolean {
  const file = frameFile(line);
  if (file === undefined) return true;
  if (file.startsWith('node:') || file === '<anonymous>' || file === 'native') return true;
  return dirs.some((d) => file.startsWith(d));
}

/** Keeps the user's frames of a raw V8 stack (without its message line). */
export function userFrames(raw: string | undefined): string {
  if (raw === undefined) return '';
  const dirs = (internalDirs ??= discover());
  const kept = frames(raw).filter((l) => !isInternal(l, dirs)).slice(0, MAX_FRAMES);
  return kept.map((l) => '    ' + l.trim()).join('\n');
}

/** The user's frames at the caller's position. */
export function captureStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 50;
  let raw: string | undefined;
  try {
    raw = new Error().stack;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return userFrames(raw);
}

/** Indents every line of `text` by `n` spaces (for nested report sections). */
export function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text.split('\n').map((l) => (l.length > 0 ? pad + l.trimStart() : l)).join('\n');
}
