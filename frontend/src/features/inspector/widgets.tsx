/**
 * Widgets for the generated config forms:
 * - strings: the standard input, checked as you type when they hold a `{{ }}` template;
 * - CEL fields (`format: "cel"` or `x-weft-widget: "cel"`): a code box checked as you type;
 * - credential fields (`x-weft-widget: "credential"`): a select of GET /api/credentials/;
 * - Triton server, model and version fields: pickers (modelFields.tsx);
 * - free-form JSON values: a JSON text box.
 */
import { getTemplate, type FieldProps, type WidgetProps } from "@rjsf/utils";
import { useEffect, useState } from "react";
import { hasTemplate, isCelSchema, isCredentialSchema } from "../../core/schema";
import { errorMessage, resultsOf } from "../../infrastructure/api";
import { useApi, useEditor, useServices } from "../../infrastructure/context";
import { CheckMessage, ExpressionInput } from "./ExpressionInput";
import { TritonModelSelect, TritonServerSelect, TritonVersionSelect } from "./modelFields";
import { useExpressionCheck, useSamples } from "./useExpressionCheck";

function CelInput(props: WidgetProps) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder } = props;
  return (
    <ExpressionInput
      id={id}
      value={typeof value === "string" ? value : ""}
      template={false}
      disabled={disabled}
      readOnly={readonly}
      placeholder={placeholder || "CEL expression, e.g. input.amount > 100"}
      onChange={(v) => onChange(v === "" ? props.options.emptyValue : v)}
      onBlur={(v) => onBlur(id, v)}
      onFocus={(v) => onFocus(id, v)}
    />
  );
}

function CredentialSelect(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly, schema } = props;
  const { store } = useServices();
  const api = useApi();
  const credentials = useEditor((s) => s.credentials);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (credentials !== null) return;
    api
      .listCredentials()
      .then((data) => store.getState().setCredentials(resultsOf(data)))
      .catch((err) => setError(errorMessage(err)));
  }, [api, credentials, store]);
  const numeric = schema.type === "integer" || (Array.isArray(schema.type) && schema.type.includes("integer"));
  return (
    <div>
      <select
        id={id}
        className="form-control"
        value={value === undefined || value === null ? "" : String(value)}
        disabled={disabled || readonly}
        onChange={(e) => {
          const v = e.target.value;
          onChange(v === "" ? undefined : numeric ? Number(v) : v);
        }}
      >
        <option value="">{credentials === null && !error ? "Loading credentials…" : "— Choose a credential —"}</option>
        {(credentials ?? []).map((c) => (
          <option key={String(c.id)} value={String(c.id)}>
            {c.name} ({c.kind})
          </option>
        ))}
      </select>
      {error ? <div className="expr-check expr-invalid">{error}</div> : null}
      <div className="muted small">
        {credentials && credentials.length === 0 ? "No credentials yet. " : ""}
        <a href="/console/credentials/" target="_blank" rel="noopener noreferrer">
          {credentials && credentials.length === 0 ? "Add one on the Credentials page" : "See and manage credentials"}
        </a>
      </div>
    </div>
  );
}

function TemplateAwareInput(props: WidgetProps) {
  const BaseInputTemplate = getTemplate("BaseInputTemplate", props.registry, props.options);
  const text = typeof props.value === "string" ? props.value : "";
  const isTemplate = hasTemplate(text);
  const samples = useSamples();
  const state = useExpressionCheck(text, true, isTemplate && !props.readonly && !props.disabled, samples);
  return (
    <div className="expr-field">
      <BaseInputTemplate {...props} />
      {isTemplate ? <CheckMessage state={state} kind="template" /> : null}
    </div>
  );
}

const PICKERS: Record<string, (props: WidgetProps) => React.ReactElement> = {
  "triton-server": (props) => <TritonServerSelect {...props} />,
  "triton-model": (props) => <TritonModelSelect {...props} />,
  "triton-version": (props) => <TritonVersionSelect {...props} />,
};

/** Replaces rjsf's TextWidget: picks the right input from the field's schema. */
export function SmartTextWidget(props: WidgetProps) {
  const schema = props.schema as Record<string, unknown>;
  if (isCredentialSchema(schema)) return <CredentialSelect {...props} />;
  if (isCelSchema(schema)) return <CelInput {...props} />;
  const picker = PICKERS[String(schema["x-weft-widget"] ?? "")];
  if (picker) return picker(props);
  return <TemplateAwareInput {...props} />;
}

/** A textarea that also checks templates (used for `x-weft-widget: "textarea"`). */
export function SmartTextareaWidget(props: WidgetProps) {
  const { id, value, onChange, disabled, readonly } = props;
  return (
    <ExpressionInput
      id={id}
      value={typeof value === "string" ? value : ""}
      template
      rows={4}
      disabled={disabled}
      readOnly={readonly}
      onChange={(v) => onChange(v === "" ? props.options.emptyValue : v)}
    />
  );
}

/** Free-form JSON values: edited as text, committed when it parses. */
export function JsonField(props: FieldProps) {
  const { formData, onChange, disabled, readonly, schema, name, fieldPathId } = props;
  const id = fieldPathId?.$id ?? name;
  const pretty = (v: unknown) => (v === undefined ? "" : JSON.stringify(v, null, 2));
  const [text, setText] = useState(pretty(formData));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Follow outside changes (undo, another user's save) unless the text already means the same.
    try {
      if (JSON.stringify(JSON.parse(text || "null")) === JSON.stringify(formData ?? null)) return;
    } catch {
      /* the user is mid-edit; replace only on a real outside change */
    }
    setText(pretty(formData));
    setError(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [formData]);
  const title = (schema.title as string | undefined) ?? name;
  return (
    <div className="form-group json-field">
      <label className="control-label" htmlFor={id}>
        {title}
      </label>
      {schema.description ? <p className="field-description">{String(schema.description)}</p> : null}
      <textarea
        id={id}
        className={`form-control code-input${error ? " is-invalid" : ""}`}
        rows={Math.min(10, Math.max(3, text.split("\n").length))}
        spellCheck={false}
        value={text}
        disabled={disabled}
        readOnly={readonly}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError(null);
            onChange(undefined, fieldPathId.path);
            return;
          }
          try {
            const parsed = JSON.parse(e.target.value);
            setError(null);
            onChange(parsed, fieldPathId.path);
          } catch (err) {
            setError(`Not valid JSON yet: ${(err as Error).message}`);
          }
        }}
      />
      {error ? <div className="expr-check expr-invalid">{error}</div> : null}
    </div>
  );
}
