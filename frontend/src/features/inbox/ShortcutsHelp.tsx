/** The keyboard shortcuts, as a dialog (?) and as a line on the page. */
import { Dialog } from "../../ui/Dialog";
import { SHORTCUTS } from "./keys";

export function ShortcutsLine() {
  return (
    <p className="shortcuts-line small muted" aria-label="Keyboard shortcuts">
      {SHORTCUTS.map((s) => (
        <span key={s.key}>
          <kbd>{s.key}</kbd> {s.does}
        </span>
      ))}
    </p>
  );
}

export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.key}>
              <td>
                <kbd>{s.key}</kbd>
              </td>
              <td>{s.does}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
