// What the top bar's live indicator shows: the live connection's state, and "off" on a page that never
// started one (the compare and group pages read their data over HTTP: no connection there is not an outage).
import { useSyncExternalStore } from "react";
import { live, type LiveState } from "../api/live";

export type LiveIndicator = LiveState | "off";

/** The indicator for a connection's state, given whether it was ever started on this page. */
export function indicatorOf(state: LiveState, started: boolean): LiveIndicator {
  return !started && state === "closed" ? "off" : state;
}

// A connection starts "closed" and goes "connecting" the first time a page asks for live data; remember that.
let started = live.getState() !== "closed";
live.onState(() => {
  if (live.getState() !== "closed") started = true;
});

export function useLiveIndicator(): LiveIndicator {
  const state = useSyncExternalStore((cb) => live.onState(cb), live.getState);
  return indicatorOf(state, started || state !== "closed");
}
