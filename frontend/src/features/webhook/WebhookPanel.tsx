/**
 * The webhook trigger's addresses and key, in its inspector: the production URL (runs
 * the published version), the test URL (a test run of the draft while the editor
 * listens: "Listen" arms it for 2 minutes and one request, and the run that request
 * starts is followed on the canvas), the signing key (revealed on request, copied,
 * rotated), and a `curl` example to paste in a terminal.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, type WorkflowRuntime } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { isEditable } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";
import "./webhook.css";

const copy = (text: string) => navigator.clipboard?.writeText(text);

/** A `curl` command that sends `body` to `url`, signed with the key when the trigger asks for it. */
export function curlExample(url: string, signatureHeader: string, body = '{"hello": "world"}'): string {
  if (!signatureHeader) {
    return `curl -X POST '${url}' \\\n  -H 'Content-Type: application/json' \\\n  -d '${body}'`;
  }
  return [
    `KEY='<your signing key>'`,
    `BODY='${body}'`,
    `TS=$(date +%s)`,
    `SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$KEY" | sed 's/^.* //')`,
    `curl -X POST '${url}' \\\n  -H 'Content-Type: application/json' \\\n  -H "${signatureHeader}: t=$TS,v1=$SIG" \\\n  -d "$BODY"`,
  ].join("\n");
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="btn btn-default btn-small"
      aria-label={label}
      onClick={() => {
        void copy(text);
        setDone(true);
        setTimeout(() => setDone(false), 1500);
      }}
    >
      <Icon name={done ? "check" : "copy"} size={13} /> <span>{done ? "Copied" : "Copy"}</span>
    </button>
  );
}

export function WebhookPanel({ signatureHeader }: { signatureHeader: string }) {
  const { api, runs, store } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const editable = useEditor(isEditable);
  const latest = useEditor((s) => s.latestVersion);
  const [runtime, setRuntime] = useState<WorkflowRuntime | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [revealed, setRevealed] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const lastRun = useRef<string | null>(null);

  useEffect(() => {
    if (!workflowId) return;
    api.getRuntime(workflowId).then(
      (r) => {
        lastRun.current = r.test_run_id;
        setRuntime(r);
      },
      (err) => setError(errorMessage(err)),
    );
  }, [api, workflowId]);

  const until = runtime?.listening_until ? Date.parse(runtime.listening_until) : null;
  const listening = until !== null && until > now;
  // While listening: poll for the run the test request starts, then follow it.
  const poll = useCallback(async () => {
    if (!workflowId) return;
    const r = await api.getRuntime(workflowId);
    setRuntime(r);
    if (r.test_run_id && r.test_run_id !== lastRun.current) {
      lastRun.current = r.test_run_id;
      store.getState().toast("success", "Test request received: following its run.");
      await runs.watch(r.test_run_id);
    }
  }, [api, runs, store, workflowId]);
  useEffect(() => {
    if (!listening) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      void poll().catch(() => undefined);
    }, 1000);
    return () => clearInterval(timer);
  }, [listening, poll]);

  if (error) return <p className="problem-error">{error}</p>;
  if (!runtime || !workflowId) return <p className="muted small">Loading the webhook's address…</p>;
  const left = until ? Math.max(0, Math.round((until - now) / 1000)) : 0;

  const listen = async () => {
    try {
      const r = await api.listen(workflowId);
      lastRun.current = r.test_run_id;
      setNow(Date.now());
      setRuntime(r);
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    }
  };
  const stop = async () => setRuntime(await api.stopListening(workflowId));
  const rotate = async () => {
    if (!window.confirm("Rotate the signing key? Senders still signing with the old key will be refused.")) return;
    try {
      setRuntime(await api.rotateSigningKey(workflowId));
      setRevealed(true);
      store.getState().toast("success", "New signing key: update your senders.");
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    }
  };

  return (
    <section className="webhook-panel" aria-label="Webhook">
      <h3 className="inspector-section">Webhook</h3>
      <div className="webhook-row">
        <label htmlFor="webhook-production">Production URL</label>
        <div className="webhook-url">
          <input id="webhook-production" className="form-control code-input" readOnly value={runtime.webhook_url} />
          <CopyButton text={runtime.webhook_url} label="Copy the production URL" />
        </div>
        <p className="muted small">{latest ? `Runs the published version (v${latest}).` : "Answers once the workflow is published."}</p>
      </div>
      <div className="webhook-row">
        <label htmlFor="webhook-test">Test URL</label>
        <div className="webhook-url">
          <input id="webhook-test" className="form-control code-input" readOnly value={runtime.test_webhook_url} />
          <CopyButton text={runtime.test_webhook_url} label="Copy the test URL" />
        </div>
        {listening ? (
          <p className="webhook-listening" role="status">
            <span className="pulse" /> Listening for one request ({Math.floor(left / 60)}:{String(left % 60).padStart(2, "0")} left): it starts a test run of the draft.{" "}
            <button type="button" className="btn-link" onClick={stop}>
              Stop
            </button>
          </p>
        ) : editable ? (
          <button type="button" className="btn btn-default btn-small" onClick={listen}>
            <Icon name="webhook" size={13} /> <span>Listen for a test request</span>
          </button>
        ) : null}
      </div>
      <div className="webhook-row">
        <label htmlFor="webhook-key">Signing key</label>
        <div className="webhook-url">
          <input id="webhook-key" className="form-control code-input" readOnly value={revealed ? runtime.signing_key : "•".repeat(24)} />
          <button type="button" className="btn btn-default btn-small" onClick={() => setRevealed((v) => !v)}>
            {revealed ? "Hide" : "Reveal"}
          </button>
          <CopyButton text={runtime.signing_key} label="Copy the signing key" />
        </div>
        {signatureHeader ? (
          <p className="muted small">Requests must carry <code>{signatureHeader}: t=&lt;unix time&gt;,v1=&lt;HMAC-SHA256 of "t.body"&gt;</code>.</p>
        ) : (
          <p className="muted small">Set a signature header in the settings to require signed requests.</p>
        )}
        {editable ? (
          <button type="button" className="btn btn-default btn-small" onClick={rotate}>
            Rotate the key
          </button>
        ) : null}
      </div>
      <div className="webhook-row">
        <label>Try it from a terminal</label>
        <pre className="json-view webhook-curl" aria-label="curl example">
          {curlExample(runtime.test_webhook_url, signatureHeader)}
        </pre>
        <CopyButton text={curlExample(runtime.test_webhook_url, signatureHeader)} label="Copy the curl example" />
      </div>
    </section>
  );
}
