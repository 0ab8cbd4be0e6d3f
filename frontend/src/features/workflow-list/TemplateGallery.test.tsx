// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { createApi, type WorkflowTemplate } from "../../infrastructure/api";
import { ApiProvider } from "../../infrastructure/context";
import { NewWorkflowDialog } from "./TemplateGallery";

const TEMPLATE: Omit<WorkflowTemplate, "free_name"> = {
  slug: "support_ticket_escalation",
  name: "Support ticket escalation",
  description: "Tickets the model is unsure of go to a reviewer.",
  teams: [],
  missing_teams: [],
  sample_input: { subject: "Invoices export fails" },
  graph: { nodes: [], edges: [], notes: [] } as unknown as WorkflowTemplate["graph"],
};

/** A stand-in for the server, as it answers (apps/templates, apps/workflows): names are
 * unique, GET /templates/ offers each template's free name, a taken name gets a 409. */
function server(existing: string[]) {
  const names = new Set(existing);
  const created: string[] = [];
  const freeName = (name: string) => {
    let candidate = name;
    for (let n = 1; names.has(candidate); n++) candidate = `${name} (copy${n === 1 ? "" : ` ${n}`})`;
    return candidate;
  };
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
  const fetchImpl = async (url: string, init?: RequestInit) => {
    const path = new URL(url, "http://testserver").pathname;
    if (path === "/api/templates/") return json([{ ...TEMPLATE, free_name: freeName(TEMPLATE.name) }]);
    if (path === "/api/workflows/" && init?.method === "POST") {
      const { name } = JSON.parse(String(init.body)) as { name: string };
      if (names.has(name)) {
        const detail = `A workflow named '${name}' exists.`;
        return json({ code: "duplicate_name", detail, errors: { name: [detail] } }, 409);
      }
      names.add(name);
      created.push(name);
      return json({ id: `wf-${created.length}`, name }, 201);
    }
    if (path.endsWith("/test-runs/")) return json({ id: "run-1", status: "queued" }, 201);
    return json({ detail: "Not found." }, 404);
  };
  return { created, api: createApi("/api", fetchImpl) };
}

function openDialog(api: ReturnType<typeof createApi>) {
  const opened: Array<[string, string | undefined]> = [];
  render(
    <ApiProvider value={api}>
      <NewWorkflowDialog onClose={() => {}} onCreated={(id, run) => opened.push([id, run])} />
    </ApiProvider>,
  );
  return opened;
}

afterEach(cleanup);

describe("NewWorkflowDialog", () => {
  it("tries a template a second time as a new draft with a free name", async () => {
    const { api, created } = server(["Support ticket escalation"]);
    const opened = openDialog(api);
    fireEvent.click(await screen.findByRole("button", { name: "Try Support ticket escalation" }));
    await waitFor(() => expect(opened).toEqual([["wf-1", "run-1"]]));
    expect(created).toEqual(["Support ticket escalation (copy)"]);
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("fills the name with the template's free name when it is chosen", async () => {
    const { api } = server(["Support ticket escalation", "Support ticket escalation (copy)"]);
    openDialog(api);
    fireEvent.click(await screen.findByRole("button", { name: "Start from Support ticket escalation" }));
    expect(screen.getByLabelText<HTMLInputElement>("Name").value).toBe("Support ticket escalation (copy 2)");
  });

  it("keeps a typed name that is taken and shows why it cannot be used", async () => {
    const { api, created } = server(["Triage"]);
    const opened = openDialog(api);
    fireEvent.change(screen.getByLabelText("Name"), { target: { value: "Triage" } });
    fireEvent.click(await screen.findByRole("button", { name: "Start from Support ticket escalation" }));
    expect(screen.getByLabelText<HTMLInputElement>("Name").value).toBe("Triage");
    fireEvent.click(screen.getByRole("button", { name: "Create" }));
    expect(await screen.findByRole("alert")).toHaveProperty("textContent", expect.stringContaining("A workflow named 'Triage' exists."));
    expect(created).toEqual([]);
    expect(opened).toEqual([]);
  });
});
