/** The inbox's store, API and user, handed to its components through one React context. */
import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { InboxApi } from "../../infrastructure/inboxApi";
import type { Me } from "../../infrastructure/inboxState";
import type { InboxActions, InboxState, InboxStore } from "../../infrastructure/inboxStore";

export interface InboxServices {
  api: InboxApi;
  store: InboxStore;
  me: Me;
}

export const InboxContext = createContext<InboxServices | null>(null);

export function useInboxServices(): InboxServices {
  const services = useContext(InboxContext);
  if (!services) throw new Error("useInboxServices outside InboxContext");
  return services;
}

export function useInbox<T>(selector: (s: InboxState & InboxActions) => T): T {
  return useStore(useInboxServices().store, selector);
}
