/**
 * Editor keyboard shortcuts. Copy and paste use the browser's copy/paste events, so the
 * system clipboard works without a permission prompt and across workflows and tabs.
 * Delete/Backspace are handled by the canvas.
 */
import { useEffect } from "react";
import { parseClipboard, serializeClipboard } from "../core/clipboard";
import type { EditorServices } from "../infrastructure/context";
import { readClipboardText, writeClipboardText } from "../infrastructure/clipboard";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function inDialog(target: EventTarget | null): boolean {
  return !!(target as HTMLElement | null)?.closest?.('[role="dialog"]');
}

export async function copySelectionToClipboard(services: EditorServices): Promise<boolean> {
  const payload = services.store.getState().copy();
  if (!payload) return false;
  await writeClipboardText(serializeClipboard(payload));
  return true;
}

export async function pasteFromClipboard(services: EditorServices): Promise<void> {
  const text = await readClipboardText();
  const payload = text ? parseClipboard(text) : null;
  if (payload) services.store.getState().paste(payload);
  else services.store.getState().toast("info", "The clipboard holds no Weft nodes.");
}

export function useShortcuts(services: EditorServices) {
  useEffect(() => {
    const { store, autosave } = services;
    const actions = () => store.getState();

    const onKeyDown = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      const key = e.key.toLowerCase();
      if (mod && key === "s") {
        e.preventDefault();
        void autosave.flush();
        return;
      }
      if (isTyping(e.target) || inDialog(e.target)) return;
      if (mod && key === "z" && !e.shiftKey) {
        e.preventDefault();
        actions().undo();
      } else if (mod && ((key === "z" && e.shiftKey) || key === "y")) {
        e.preventDefault();
        actions().redo();
      } else if (mod && key === "d") {
        e.preventDefault();
        actions().duplicate();
      } else if (mod && key === "a") {
        e.preventDefault();
        actions().selectAll();
      } else if (key === "escape") {
        actions().setSelection({ nodes: [], edges: [], notes: [] });
      }
    };

    const onCopy = (e: ClipboardEvent) => {
      if (isTyping(e.target) || inDialog(e.target)) return;
      const payload = actions().copy();
      if (!payload) return;
      const text = serializeClipboard(payload);
      e.clipboardData?.setData("text/plain", text);
      e.preventDefault();
      void writeClipboardText(text);
      if (e.type === "cut") actions().removeSelection();
    };

    const onPaste = (e: ClipboardEvent) => {
      if (isTyping(e.target) || inDialog(e.target)) return;
      const text = e.clipboardData?.getData("text/plain");
      const payload = text ? parseClipboard(text) : null;
      if (!payload) return;
      e.preventDefault();
      actions().paste(payload);
    };

    window.addEventListener("keydown", onKeyDown);
    document.addEventListener("copy", onCopy);
    document.addEventListener("cut", onCopy);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKeyDown);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("cut", onCopy);
      document.removeEventListener("paste", onPaste);
    };
  }, [services]);
}
