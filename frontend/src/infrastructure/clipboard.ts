/**
 * The system clipboard, with a localStorage copy as fallback (the async clipboard API
 * needs a secure context and permission). Both hold the same JSON text, so a selection
 * copied in one workflow pastes into another.
 */
const KEY = "weft:clipboard";

export async function writeClipboardText(text: string): Promise<void> {
  try {
    localStorage.setItem(KEY, text);
  } catch {
    /* storage full or disabled */
  }
  try {
    await navigator.clipboard?.writeText(text);
  } catch {
    /* permission denied: the localStorage copy still works inside this browser */
  }
}

export async function readClipboardText(): Promise<string | null> {
  try {
    const text = await navigator.clipboard?.readText();
    if (text) return text;
  } catch {
    /* permission denied */
  }
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
