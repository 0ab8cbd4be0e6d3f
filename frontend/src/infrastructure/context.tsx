/**
 * Wires the editor's services (API, store, autosave, validation, runs, test data) and hands them to
 * React through one context, so features reach them without importing each other.
 */
import { createContext, useContext, type ReactNode } from "react";
import { useStore } from "zustand";
import { createApi, type Api } from "./api";
import { Autosave } from "./autosave";
import { createEditorStore, type EditorActions, type EditorState, type EditorStore } from "./editorStore";
import { RunController } from "./runs";
import { TestDataController } from "./testData";
import { ValidationController } from "./validation";

export interface EditorServices {
  api: Api;
  store: EditorStore;
  autosave: Autosave;
  validation: ValidationController;
  runs: RunController;
  testData: TestDataController;
}

export function createEditorServices(apiBase = "/api"): EditorServices {
  const api = createApi(apiBase);
  const store = createEditorStore();
  const autosave = new Autosave(store, api);
  const runs = new RunController(store, api);
  return {
    api,
    store,
    autosave,
    validation: new ValidationController(store, api),
    runs,
    testData: new TestDataController(store, api, autosave, runs),
  };
}

const Context = createContext<EditorServices | null>(null);

export function EditorProvider({ services, children }: { services: EditorServices; children: ReactNode }) {
  return <Context.Provider value={services}>{children}</Context.Provider>;
}

export function useServices(): EditorServices {
  const services = useContext(Context);
  if (!services) throw new Error("useServices() needs an <EditorProvider>.");
  return services;
}

/** Subscribes to a slice of the editor store; re-renders only when the slice changes. */
export function useEditor<T>(selector: (state: EditorState & EditorActions) => T): T {
  return useStore(useServices().store, selector);
}

/** The store's actions (stable functions; reading them never re-renders). */
export function useActions(): EditorActions {
  return useServices().store.getState();
}

/** An API client outside the editor (the workflow list page). */
const ApiContext = createContext<Api | null>(null);
export const ApiProvider = ApiContext.Provider;
export function useApi(): Api {
  const fromEditor = useContext(Context);
  const api = useContext(ApiContext) ?? fromEditor?.api;
  if (!api) throw new Error("useApi() needs an ApiProvider or EditorProvider.");
  return api;
}
