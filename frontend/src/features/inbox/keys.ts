/** The inbox's keyboard shortcuts: one list, used by the handlers and the help. */
export const SHORTCUTS: { key: string; does: string }[] = [
  { key: "j", does: "next task" },
  { key: "k", does: "previous task" },
  { key: "c", does: "claim the open task" },
  { key: "a", does: "approve the open task" },
  { key: "r", does: "reject (write the comment first)" },
  { key: "?", does: "show these shortcuts" },
];

/** A key typed into a field is text, not a shortcut. */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable;
}

export function plainKey(e: KeyboardEvent): boolean {
  return !e.metaKey && !e.ctrlKey && !e.altKey && !isTyping(e.target);
}
