// Whether the "New run" dialog is open and what it starts from: one small store, so the top bar's button and a
// run's "Run again" open the same dialog without threading props through the page.
import { useSyncExternalStore } from "react";
import type { Prefill } from "./prefill";

type State = { open: false } | { open: true; prefill: Prefill | null; key: number };

let state: State = { open: false };
const listeners = new Set<() => void>();
let counter = 0;

function set(next: State): void {
  state = next;
  for (const l of listeners) l();
}

export function openLaunchDialog(prefill: Prefill | null = null): void {
  set({ open: true, prefill, key: ++counter });
}

export function closeLaunchDialog(): void {
  set({ open: false });
}

export function useLaunchDialog(): State {
  return useSyncExternalStore(
    (cb) => {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    () => state,
  );
}
