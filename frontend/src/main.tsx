/** Entry point: the Django page says which screen to show in its `weft-boot` JSON. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { EditorPage } from "./app/EditorPage";
import { WorkflowsPage } from "./app/WorkflowsPage";
import { readBoot } from "./infrastructure/boot";
import "./ui/theme.css";

const boot = readBoot();
const page = boot.page ?? (boot.workflow_id ? "editor" : "workflows");
const root = document.getElementById("weft-root") ?? document.body.appendChild(document.createElement("div"));

createRoot(root).render(<StrictMode>{page === "editor" ? <EditorPage boot={boot} /> : <WorkflowsPage boot={boot} />}</StrictMode>);
