/** What the Django page hands the app in `<script id="weft-boot" type="application/json">`. */
export interface BootData {
  page?: "editor" | "workflows" | "inbox";
  workflow_id?: string | null;
  /** The inbox's open task (/inbox/<task_id>/). */
  task_id?: string | null;
  /** The teams the user reviews for (the inbox's "my teams"). */
  team_ids?: string[];
  user?: { id?: number; username: string; roles: string[] };
  api_base?: string;
}

export function readBoot(doc: Document = document): BootData {
  const el = doc.getElementById("weft-boot");
  if (!el?.textContent) return {};
  try {
    return JSON.parse(el.textContent) as BootData;
  } catch {
    return {};
  }
}

/** Viewers (no editor or admin role) see the editor read-only. */
export function canEdit(boot: BootData): boolean {
  const roles = boot.user?.roles;
  if (!roles) return true; // the server enforces permissions anyway
  return roles.includes("editor") || roles.includes("admin");
}
