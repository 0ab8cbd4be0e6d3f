import { useMemo } from "react";
import { WorkflowList } from "../features/workflow-list/WorkflowList";
import { createApi } from "../infrastructure/api";
import { canEdit, type BootData } from "../infrastructure/boot";
import { ApiProvider } from "../infrastructure/context";

export function WorkflowsPage({ boot }: { boot: BootData }) {
  const api = useMemo(() => createApi(boot.api_base ?? "/api"), [boot.api_base]);
  return (
    <ApiProvider value={api}>
      <WorkflowList canEdit={canEdit(boot)} editorUrl={(id) => `/editor/${id}/`} navigate={(url) => window.location.assign(url)} />
    </ApiProvider>
  );
}
