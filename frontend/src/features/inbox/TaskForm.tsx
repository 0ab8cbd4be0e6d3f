/** The task's form, from its JSON Schema with rjsf (the editor's library), prefilled. */
import Form from "@rjsf/core";
import type { RJSFSchema } from "@rjsf/utils";
import { formValidator } from "./formValidator";

export interface TaskFormProps {
  taskId: string;
  schema: Record<string, unknown>;
  values: Record<string, unknown>;
  readOnly: boolean;
  errors: Record<string, string[]>;
  onChange: (values: Record<string, unknown>) => void;
}

/** The server's `form.total` errors as rjsf's extraErrors. */
function toErrorSchema(errors: Record<string, string[]>) {
  const out: Record<string, unknown> = {};
  for (const [field, messages] of Object.entries(errors)) {
    if (!field.startsWith("form")) continue;
    const path = field.split(".").slice(1);
    let node = out;
    for (const part of path) node = (node[part] ??= {}) as Record<string, unknown>;
    node.__errors = messages;
  }
  return out;
}

export function TaskForm({ taskId, schema, values, readOnly, errors, onChange }: TaskFormProps) {
  return (
    <Form
      key={taskId}
      className="task-form config-form"
      schema={{ ...(schema as RJSFSchema), title: undefined }}
      formData={values}
      validator={formValidator}
      onChange={(e) => onChange((e.formData ?? {}) as Record<string, unknown>)}
      extraErrors={toErrorSchema(errors) as never}
      showErrorList={false}
      noHtml5Validate
      liveValidate
      readonly={readOnly}
      idPrefix={`task-${taskId}`}
    >
      {/* The decision buttons below submit; the form has none of its own. */}
      <></>
    </Form>
  );
}
