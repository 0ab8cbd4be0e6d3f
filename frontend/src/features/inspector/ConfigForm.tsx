/** A node's config form, generated from its type's JSON Schema with rjsf. */
import Form from "@rjsf/core";
import type { IChangeEvent } from "@rjsf/core";
import { getDefaultFormState } from "@rjsf/utils";
import type { ErrorSchema, RegistryFieldsType, RegistryWidgetsType, RJSFSchema } from "@rjsf/utils";
import { memo, useCallback, useMemo } from "react";
import { jsonEqual } from "../../core/diff";
import { normalizeSchema } from "../../core/schema";
import type { NodeTypeSpec, Problem } from "../../core/types";
import { useActions } from "../../infrastructure/context";
import { buildUiSchema, problemsToErrorSchema } from "./schemaUi";
import { cspSafeValidator as validator } from "./validator";
import { buttonTemplates } from "./buttons";
import { CollapsedSection } from "./sections";
import { ModelInputsField } from "./modelFields";
import { JsonField, SmartTextareaWidget, SmartTextWidget } from "./widgets";

// The validator interprets the schema (no code generation: the page's CSP allows no
// eval). Formats it does not know, such as our `cel`, are left to the server.
const widgets: RegistryWidgetsType = { TextWidget: SmartTextWidget, TextareaWidget: SmartTextareaWidget };
const fields: RegistryFieldsType = { json: JsonField, modelInputs: ModelInputsField };
// `CollapsedSection` is named by the uiSchema of groups marked `x-weft-collapsed`.
const templates = { ButtonTemplates: buttonTemplates, CollapsedSection };

const prepared = new WeakMap<NodeTypeSpec, { schema: RJSFSchema; uiSchema: Record<string, unknown> }>();
function prepare(spec: NodeTypeSpec) {
  let p = prepared.get(spec);
  if (!p) {
    const schema = normalizeSchema(spec.config_schema) as RJSFSchema;
    // The node's name is edited above the form; the title would only repeat the type.
    p = { schema: { ...schema, title: undefined, description: undefined }, uiSchema: buildUiSchema(schema) };
    prepared.set(spec, p);
  }
  return p;
}

/** The ".a.b" path (rjsf's) of the field a server problem is about ("config.a.b"). */
function fieldPath(problem: Problem): string {
  return problem.field?.startsWith("config.") ? "." + problem.field.slice("config.".length) : "";
}

export interface ConfigFormProps {
  nodeId: string;
  config: Record<string, unknown>;
  spec: NodeTypeSpec;
  problems: Problem[] | undefined;
  readOnly: boolean;
}

export const ConfigForm = memo(function ConfigForm({ nodeId, config, spec, problems, readOnly }: ConfigFormProps) {
  const actions = useActions();
  const { schema, uiSchema } = prepare(spec);
  // Fields are checked against the schema here as they change (liveValidate); where
  // that already flags a field, the server's problem on the same field is not repeated
  // under it (it stays in the problems list): one wording per error.
  const flagged = useMemo(
    () => new Set(validator.validateFormData(config, schema).errors.map((e) => e.property ?? "")),
    [config, schema],
  );
  const extraErrors = useMemo(
    // A type error on the sample data is the expression field's own live check: not repeated under it.
    () => problemsToErrorSchema((problems ?? []).filter((p) => !flagged.has(fieldPath(p)) && p.code !== "expression_type_error")) as ErrorSchema,
    [problems, flagged],
  );
  // The form fills in the schema's defaults when it opens and reports that as a
  // change; only what the user changed beyond those defaults is an edit of the draft.
  const withDefaults = useMemo(
    () => getDefaultFormState(validator, schema, config, schema) as Record<string, unknown>,
    [schema, config],
  );
  const onChange = useCallback(
    (e: IChangeEvent) => {
      const next = (e.formData ?? {}) as Record<string, unknown>;
      if (jsonEqual(next, config) || jsonEqual(next, withDefaults)) return;
      actions.setNodeConfig(nodeId, next);
    },
    [actions, nodeId, config, withDefaults],
  );
  // Pickers read the settings chosen above them (the model list follows the server).
  const formContext = useMemo(() => ({ config }), [config]);
  const hasFields = Object.keys((schema.properties as object | undefined) ?? {}).length > 0;
  if (!hasFields) return <p className="muted">This node has no settings.</p>;
  return (
    <Form
      key={nodeId}
      className="config-form"
      schema={schema}
      uiSchema={uiSchema}
      formData={config}
      validator={validator}
      widgets={widgets}
      fields={fields}
      templates={templates}
      formContext={formContext}
      onChange={onChange}
      extraErrors={extraErrors}
      liveValidate="onChange"
      showErrorList={false}
      noHtml5Validate
      readonly={readOnly}
      idPrefix={`cfg-${nodeId}`}
    />
  );
});
