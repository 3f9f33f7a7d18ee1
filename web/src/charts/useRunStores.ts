// The metric stores (charts/store.ts, read-only use) of several runs, held while the view shows them;
// re-renders when their key sets or loading state change.
import { useCallback, useEffect, useMemo, useSyncExternalStore } from "react";
import { runMetrics, type RunMetrics } from "./store";

export function useRunStores(runIds: readonly string[]): RunMetrics[] {
  const key = runIds.join(",");
  const stores = useMemo(() => (key ? key.split(",") : []).map(runMetrics), [key]);
  useEffect(() => {
    stores.forEach((s) => s.acquire());
    return () => stores.forEach((s) => s.release());
  }, [stores]);
  const subscribe = useCallback(
    (cb: () => void) => {
      const offs = stores.map((s) => s.onChange(cb));
      return () => offs.forEach((f) => f());
    },
    [stores],
  );
  const snapshot = useCallback(
    () => stores.map((s) => `${s.loading ? "L" : ""}${s.error ?? ""}${s.keys().join(",")}`).join("|"),
    [stores],
  );
  useSyncExternalStore(subscribe, snapshot);
  return stores;
}

/** Subscribe to data changes of the stores (new points), without re-rendering: for charts' setData. */
export function onStoresChange(stores: readonly RunMetrics[], cb: () => void): () => void {
  const offs = stores.map((s) => s.onChange(cb));
  return () => offs.forEach((f) => f());
}
