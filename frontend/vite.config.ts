import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

// The build is served by Django from static/dist/ (see apps/editor/templatetags/vite.py,
// which reads .vite/manifest.json to find the hashed file names).
export default defineConfig({
  plugins: [react()],
  base: "/static/dist/",
  build: {
    outDir: fileURLToPath(new URL("../static/dist", import.meta.url)),
    emptyOutDir: true,
    manifest: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      // Three pages: the editor and workflow list (main), the reviewer inbox (inbox) and the
      // console's model version page (models: its charts).
      input: { main: "src/main.tsx", inbox: "src/inbox.tsx", models: "src/models.ts" },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    // A liveness bound, not a speed check: component tests that render and wait take
    // well under a second alone and several on a loaded 2-core machine.
    testTimeout: 30000,
  },
});
