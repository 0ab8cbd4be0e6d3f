/**
 * Undo/redo over immutable snapshots. Snapshots share unchanged nodes, so keeping a
 * hundred of them costs little. `coalesce` merges a burst of edits to the same thing
 * (typing in a field) into one undo step.
 */

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  lastKey: string | null;
  lastAt: number;
}

export const HISTORY_LIMIT = 100;
export const COALESCE_MS = 1000;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null, lastAt: 0 };
}

export interface CommitOptions<T> {
  /** Edits with the same key within COALESCE_MS become one undo step. */
  coalesce?: string;
  /** The state to return to on undo, when `present` was already changed live (a drag). */
  from?: T;
  now?: number;
}

export function commit<T>(h: History<T>, next: T, options: CommitOptions<T> = {}): History<T> {
  const now = options.now ?? Date.now();
  const base = options.from ?? h.present;
  if (next === base) return options.from ? { ...h, present: next } : h;
  if (options.coalesce && options.coalesce === h.lastKey && now - h.lastAt < COALESCE_MS && h.past.length > 0) {
    return { ...h, present: next, future: [], lastAt: now };
  }
  const past = [...h.past, base];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [], lastKey: options.coalesce ?? null, lastAt: now };
}

/** Changes the present without an undo step (live drag frames, server echoes). */
export function replace<T>(h: History<T>, next: T): History<T> {
  return next === h.present ? h : { ...h, present: next };
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  const past = h.past.slice(0, -1);
  return { past, present: h.past[h.past.length - 1], future: [h.present, ...h.future], lastKey: null, lastAt: 0 };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  const [present, ...future] = h.future;
  return { past: [...h.past, h.present], present, future, lastKey: null, lastAt: 0 };
}

export const canUndo = <T>(h: History<T>) => h.past.length > 0;
export const canRedo = <T>(h: History<T>) => h.future.length > 0;
