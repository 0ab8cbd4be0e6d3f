/**
 * The inference node's settings as pickers, from what the Triton servers say:
 * - `x-weft-widget: "triton-server"`: a select of the registered servers;
 * - `x-weft-widget: "triton-model"`: a select of that server's models, with their
 *   versions and readiness;
 * - `x-weft-widget: "triton-version"`: "Latest" or one of the model's versions;
 * - `x-weft-field: "model-inputs"`: the model's inputs and outputs with datatypes and
 *   shapes, one expression field per input, and "Try it", which evaluates each
 *   expression on the node's sample data and runs the model on the values.
 * The form's context carries the whole config, so each picker knows the server and model
 * chosen above it.
 */
import type { FieldProps, WidgetProps } from "@rjsf/utils";
import { useEffect, useState } from "react";
import { errorMessage, type Api, type InferenceTry, type TritonModelSpec, type TritonModelStatus, type TritonServerSummary } from "../../infrastructure/api";
import { useApi } from "../../infrastructure/context";
import { ExpressionInput } from "./ExpressionInput";
import { useSamples } from "./useExpressionCheck";

type Loaded<T> = { status: "idle" } | { status: "loading" } | { status: "ready"; value: T } | { status: "error"; message: string };

// One request per thing per page (the form re-renders on every keystroke).
const cache = new Map<string, Promise<unknown>>();
function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
    p.catch(() => cache.delete(key)); // a failure is tried again next time
  }
  return p;
}
/** Forget what the servers said (tests; "Refresh"). */
export function forgetModelCache() {
  cache.clear();
}

function useLoaded<T>(key: string | null, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ status: "idle" });
  useEffect(() => {
    if (key === null) {
      setState({ status: "idle" });
      return;
    }
    let live = true;
    setState({ status: "loading" });
    cached(key, load).then(
      (value) => live && setState({ status: "ready", value }),
      (err) => live && setState({ status: "error", message: errorMessage(err) }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return state;
}

const servers = (api: Api) => cached("servers", () => api.listTritonServers().then((p) => p.results));

function useServers(): Loaded<TritonServerSummary[]> {
  const api = useApi();
  return useLoaded("servers", () => servers(api));
}

/** The chosen server's id, its models and the chosen model's spec. */
export function useTritonChoice(config: Record<string, unknown>) {
  const api = useApi();
  const serverName = typeof config.server === "string" ? config.server : "";
  const model = typeof config.model === "string" ? config.model : "";
  const version = typeof config.version === "string" ? config.version : "";
  const list = useServers();
  const server = list.status === "ready" ? list.value.find((s) => s.name === serverName) : undefined;
  const models = useLoaded<TritonModelStatus[]>(server ? `models:${server.id}` : null, () =>
    api.listTritonModels(server!.id).then((r) => r.models),
  );
  const known = models.status === "ready" && models.value.some((m) => m.name === model);
  const spec = useLoaded<TritonModelSpec>(server && known ? `spec:${server.id}:${model}:${version}` : null, () =>
    api.getTritonModel(server!.id, model, version),
  );
  return { serverName, model, version, list, server, models, spec };
}

function configOf(props: { registry: { formContext?: unknown } }): Record<string, unknown> {
  const context = props.registry.formContext as { config?: Record<string, unknown> } | undefined;
  return context?.config ?? {};
}

function Hint({ children, error }: { children: React.ReactNode; error?: boolean }) {
  return <div className={`expr-check ${error ? "expr-invalid" : "expr-checking"}`}>{children}</div>;
}

export function TritonServerSelect(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly } = props;
  const list = useServers();
  const current = typeof value === "string" ? value : "";
  const names = list.status === "ready" ? list.value : [];
  const unknown = current && list.status === "ready" && !names.some((s) => s.name === current);
  return (
    <div>
      <select id={id} className="form-control" value={current} disabled={disabled || readonly} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{list.status === "loading" ? "Loading servers…" : "— Choose a server —"}</option>
        {names.map((s) => (
          <option key={s.id} value={s.name}>
            {s.name}
            {s.is_active ? "" : " (switched off)"}
          </option>
        ))}
        {unknown ? <option value={current}>{current} (not registered)</option> : null}
      </select>
      {list.status === "error" ? <Hint error>{list.message}</Hint> : null}
      {list.status === "ready" && names.length === 0 ? <Hint>No Triton servers are registered yet. An admin adds them on the console's Triton page.</Hint> : null}
      {unknown ? <Hint error>No registered server is called “{current}”.</Hint> : null}
    </div>
  );
}

function modelLabel(m: TritonModelStatus): string {
  const versions = m.versions.length ? ` · v${m.versions.join(", v")}` : "";
  return `${m.name}${versions} · ${m.ready ? "ready" : "not ready"}`;
}

export function TritonModelSelect(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly } = props;
  const { server, models, list } = useTritonChoice(configOf(props));
  const current = typeof value === "string" ? value : "";
  const all = models.status === "ready" ? models.value : [];
  const chosen = all.find((m) => m.name === current);
  if (!server) {
    return (
      <div>
        <select id={id} className="form-control" value={current} disabled>
          <option value={current}>{current || (list.status === "loading" ? "Loading…" : "Choose a server first")}</option>
        </select>
      </div>
    );
  }
  return (
    <div>
      <select id={id} className="form-control" value={current} disabled={disabled || readonly} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{models.status === "loading" ? "Loading models…" : "— Choose a model —"}</option>
        {all.map((m) => (
          <option key={m.name} value={m.name}>
            {modelLabel(m)}
          </option>
        ))}
        {current && models.status !== "loading" && !chosen ? <option value={current}>{current} (not on this server)</option> : null}
      </select>
      {models.status === "error" ? <Hint error>{models.message}</Hint> : null}
      {chosen && !chosen.ready ? <Hint error>This model is not ready{chosen.reason ? `: ${chosen.reason}` : ""}.</Hint> : null}
      {current && models.status === "ready" && !chosen ? <Hint error>“{current}” is not served by {server.name}.</Hint> : null}
    </div>
  );
}

export function TritonVersionSelect(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly } = props;
  const { models, model } = useTritonChoice(configOf(props));
  const current = typeof value === "string" ? value : "";
  const versions = models.status === "ready" ? (models.value.find((m) => m.name === model)?.versions ?? []) : [];
  return (
    <select id={id} className="form-control" value={current} disabled={disabled || readonly} onChange={(e) => onChange(e.target.value)}>
      <option value="">Latest</option>
      {versions.map((v) => (
        <option key={v} value={v}>
          Version {v}
        </option>
      ))}
      {current && !versions.includes(current) ? <option value={current}>Version {current}</option> : null}
    </select>
  );
}

/** "FP32 [8]", "BYTES [1]", "INT64 [any]". */
export function tensorLabel(t: { datatype: string; shape: number[] }): string {
  const dims = t.shape.map((d) => (d < 0 ? "any" : String(d))).join(" × ");
  return `${t.datatype} [${dims || "scalar"}]`;
}

/** The expression fields to draw: the model's inputs, then stored ones the model lacks. */
export function inputRows(spec: TritonModelSpec | undefined, stored: Record<string, string>) {
  const rows: { name: string; tensor?: TritonModelSpec["inputs"][number] }[] = (spec?.inputs ?? []).map((t) => ({ name: t.name, tensor: t }));
  for (const name of Object.keys(stored)) if (!rows.some((r) => r.name === name)) rows.push({ name });
  return rows;
}

function confidenceText(c: unknown): string {
  return typeof c === "number" ? `${(c * 100).toFixed(1)} %` : "—";
}

function TryResult({ result }: { result: InferenceTry }) {
  const items = Array.isArray(result.items) ? (result.items as { label?: unknown; confidence?: number }[]) : null;
  return (
    <div className="model-try-result" aria-label="Try it result">
      {items ? (
        <ul>
          {items.slice(0, 10).map((item, i) => (
            <li key={i}>
              <strong>{String(item.label ?? "—")}</strong> <span className="muted">confidence</span> {confidenceText(item.confidence)}
            </li>
          ))}
        </ul>
      ) : (
        <p>
          <span className="muted">Label</span> <strong className="model-try-label">{String(result.label ?? "—")}</strong> <span className="muted">· confidence</span>{" "}
          <strong className="model-try-confidence">{confidenceText(result.confidence)}</strong>
        </p>
      )}
      <p className="muted small">
        {result.model} version {result.version}
        {typeof result.latency_ms === "number" ? ` · ${result.latency_ms.toFixed(1)} ms` : ""} · recorded as a try, not a run
      </p>
    </div>
  );
}

/** Evaluates each input's expression on the sample data: the values to send, or why not. */
async function inputValues(api: Api, inputs: Record<string, string>, samples: unknown): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = {};
  for (const [name, expression] of Object.entries(inputs)) {
    if (!expression.trim()) throw new Error(`Input “${name}” has no expression yet.`);
    const check = await api.checkExpression(expression, false, undefined, samples ?? {});
    if (!check.valid) throw new Error(`Input “${name}”: ${check.error.message}`);
    if (!check.preview || !("value" in check.preview)) {
      throw new Error(`Input “${name}” gives no value on the sample data${check.preview && "error" in check.preview ? `: ${check.preview.error}` : "."}`);
    }
    values[name] = check.preview.value;
  }
  return values;
}

export function ModelInputsField(props: FieldProps) {
  const { formData, onChange, disabled, readonly, fieldPathId, schema } = props;
  const api = useApi();
  const samples = useSamples();
  const { server, model, version, spec } = useTritonChoice(configOf(props));
  const stored = (formData && typeof formData === "object" ? formData : {}) as Record<string, string>;
  const [trying, setTrying] = useState<Loaded<InferenceTry>>({ status: "idle" });
  useEffect(() => setTrying({ status: "idle" }), [server?.id, model, version]);
  const modelSpec = spec.status === "ready" ? spec.value : undefined;
  const rows = inputRows(modelSpec, stored);
  const id = fieldPathId?.$id ?? "inputs";
  const set = (name: string, expression: string | undefined) => {
    const next = { ...stored };
    if (expression === undefined) delete next[name];
    else next[name] = expression;
    onChange(next, fieldPathId.path);
  };
  const tryIt = async () => {
    if (!server) return;
    setTrying({ status: "loading" });
    try {
      const values = await inputValues(api, stored, samples);
      setTrying({ status: "ready", value: await api.tryTritonModel(server.id, model, { inputs: values, version }) });
    } catch (err) {
      setTrying({ status: "error", message: errorMessage(err) });
    }
  };
  return (
    <div className="form-group model-inputs" id={id}>
      <label className="control-label">{String(schema.title ?? "Inputs")}</label>
      {spec.status === "loading" ? <Hint>Reading the model's inputs…</Hint> : null}
      {spec.status === "error" ? <Hint error>{spec.message}</Hint> : null}
      {!modelSpec && spec.status !== "loading" && rows.length === 0 ? <p className="field-description">Choose a server and a model: each of its inputs gets an expression here.</p> : null}
      {modelSpec ? <p className="field-description">{String(schema.description ?? "")}</p> : null}
      {rows.map(({ name, tensor }) => {
        const fieldId = `${id}_${name}`;
        return (
          <div key={name} className="model-input">
            <label className="control-label" htmlFor={fieldId}>
              <code>{name}</code> {tensor ? <span className="muted">{tensorLabel(tensor)}{tensor.optional ? " · optional" : ""}</span> : null}
            </label>
            <ExpressionInput
              id={fieldId}
              value={stored[name] ?? ""}
              template={false}
              disabled={disabled}
              readOnly={readonly}
              placeholder={`Expression for ${name}, e.g. input.${name}`}
              onChange={(v) => set(name, v === "" ? undefined : v)}
            />
            {modelSpec && !tensor ? (
              <div className="expr-check expr-invalid">
                {model} has no input “{name}”.{" "}
                {!readonly ? (
                  <button type="button" className="form-button" onClick={() => set(name, undefined)}>
                    Remove it
                  </button>
                ) : null}
              </div>
            ) : null}
          </div>
        );
      })}
      {modelSpec ? (
        <div className="model-outputs">
          <div className="control-label">Outputs</div>
          <ul aria-label="Model outputs">
            {modelSpec.outputs.map((t) => (
              <li key={t.name}>
                <code>{t.name}</code> <span className="muted">{tensorLabel(t)}</span>
              </li>
            ))}
          </ul>
          {modelSpec.labels.length ? <p className="muted small">Labels: {modelSpec.labels.join(", ")}</p> : null}
          <button type="button" className="form-button model-try" disabled={disabled || readonly || trying.status === "loading"} onClick={() => void tryIt()}>
            {trying.status === "loading" ? "Trying…" : "Try it on the sample data"}
          </button>
          {trying.status === "error" ? <Hint error>{trying.message}</Hint> : null}
          {trying.status === "ready" ? <TryResult result={trying.value} /> : null}
        </div>
      ) : null}
    </div>
  );
}
