/** Entry point of the reviewer inbox (/inbox/), a second page of the bundle. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { InboxPage } from "./app/InboxPage";
import { readBoot } from "./infrastructure/boot";
import "./ui/theme.css";
import "./features/inbox/inbox.css";

const root = document.getElementById("weft-root") ?? document.body.appendChild(document.createElement("div"));
createRoot(root).render(
  <StrictMode>
    <InboxPage boot={readBoot()} />
  </StrictMode>,
);
