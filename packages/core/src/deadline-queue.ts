/**
 * One shared timer for every deadline: a binary min-heap of pending deadlines with a single armed
 * (unref'd) timer for the earliest one. A context leaves the heap the moment it ends, so the heap
 * never holds an ended context; the armed timer is left to fire once with nothing to do instead of
 * being cleared and re-armed on every create/cancel (that pair costs as much as the whole
 * AbortController pattern).
 *
 * @internal Core only.
 */
import { getClock, onClockChange, systemClock, MAX_TIMER_DELAY, type Clock } from './clock.js';

/** What the queue needs from a context. */
export interface DeadlineEntry {
  /** Effective deadline, epoch ms. */
  _deadline: number | undefined;
  /** Position in the heap; -1 when not queued. */
  _heapIndex: number;
  /** Called when the deadline has passed; the entry has already left the heap. */
  _expire(): void;
}

const heap: DeadlineEntry[] = [];
let handle: unknown;
let armedFor = Infinity;
let armedClock: Clock | undefined;

function dl(e: DeadlineEntry): number {
  return e._deadline as number;
}

function place(e: DeadlineEntry, i: number): void {
  heap[i] = e;
  e._heapIndex = i;
}

function siftUp(i: number): void {
  const e = heap[i]!;
  const d = dl(e);
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pe = heap[p]!;
    if (dl(pe) <= d) break;
    place(pe, i);
    i = p;
  }
  place(e, i);
}

function siftDown(i: number): void {
  const n = heap.length;
  const e = heap[i]!;
  const d = dl(e);
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const c = r < n && dl(heap[r]!) < dl(heap[l]!) ? r : l;
    const ce = heap[c]!;
    if (dl(ce) >= d) break;
    place(ce, i);
    i = c;
  }
  place(e, i);
}

function arm(deadline: number): void {
  const clock = getClock();
  if (handle !== undefined) {
    if (armedFor <= deadline) return;
    armedClock!.clearTimer(handle);
  }
  armedFor = deadline;
  armedClock = clock;
  // A deadline beyond the longest timer is reached in segments: fire() re-arms for what is left.
  handle = clock.setTimer(fire, Math.min(MAX_TIMER_DELAY, Math.max(0, deadline - clock.now())), false);
}

function fire(): void {
  handle = undefined;
  armedFor = Infinity;
  const now = getClock().now();
  while (heap.length > 0) {
    const top = heap[0]!;
    if (dl(top) > now) break;
    removeEntry(top);
    top._expire();
  }
  if (heap.length > 0) arm(dl(heap[0]!));
}

/** Queues `e` (its `_deadline` set, not already queued). */
export function addEntry(e: DeadlineEntry): void {
  heap.push(e);
  siftUp(heap.length - 1);
  arm(dl(e));
}

/** Removes `e` if queued. */
export function removeEntry(e: DeadlineEntry): void {
  const i = e._heapIndex;
  if (i < 0) return;
  e._heapIndex = -1;
  const last = heap.pop()!;
  if (heap.length === 0 && handle !== undefined && armedClock !== systemClock) disarm();
  if (last === e) return;
  place(last, i);
  if (i > 0 && dl(last) < dl(heap[(i - 1) >> 1]!)) siftUp(i);
  else siftDown(i);
}

/** @internal Number of queued deadlines (tests, diagnostics). */
export function queuedDeadlines(): number {
  return heap.length;
}

/**
 * On the system clock an idle timer stays armed (unref'd, it fires once for nothing) because
 * clearing and re-arming on every create/cancel pair would dominate their cost. Any other clock
 * (a test's manual clock) is disarmed as soon as nothing is queued, so tests see no timer left.
 */
function disarm(): void {
  armedClock!.clearTimer(handle);
  handle = undefined;
  armedFor = Infinity;
}

onClockChange(() => {
  if (handle !== undefined) disarm();
  if (heap.length > 0) arm(dl(heap[0]!));
});
