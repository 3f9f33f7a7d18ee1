// The run page at a permalink (`?line=`, `?offset=`, `?t=`): the place resolved by the server, the LINES view
// pointed at its line, and the shared time line (terminal replay, chart marker) set to its moment.
import { useQuery } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo } from "react";
import { useLocation, useNavigate } from "react-router";
import { isSystemKey, runMetrics } from "../charts/store";
import { timeline } from "../timeline/moment";
import { getPosition } from "./api";
import { parsePlace, stepAt, type Place } from "./permalink";

export interface PermalinkTarget {
  place: Place;
  lineNumber: number | null;
  /** the line's index among the run's stored lines (the unfiltered LINES list) */
  index: number | null;
  time: number | null;
  exact: boolean;
  why: string | null;
}

/** The moment of `time` on the run's time line: the step of its first training metric then (if loaded). */
function momentAt(runId: string, time: number) {
  const store = runMetrics(runId);
  const key = store.keys().find((k) => !isSystemKey(k));
  const points = key ? store.series.get(key) : undefined;
  const at = points ? stepAt(points.step, points.time, time) : null;
  return { runId, time, step: at?.step ?? 0, since: at?.since ?? null, key: key ?? "log" };
}

export function usePermalink(runId: string | undefined) {
  const location = useLocation();
  const navigate = useNavigate();
  const place = useMemo(() => parsePlace(new URLSearchParams(location.search)), [location.search]);
  const placeKey = place ? JSON.stringify(place) : null;
  const q = useQuery({
    queryKey: ["position", runId, placeKey],
    queryFn: () => getPosition(runId as string, place as Place),
    enabled: !!runId && !!place,
    staleTime: Infinity,
  });
  const target: PermalinkTarget | null = useMemo(
    () =>
      place && q.data
        ? { place, lineNumber: q.data.line_number, index: q.data.index, time: q.data.time, exact: q.data.exact, why: q.data.why }
        : null,
    [place, q.data],
  );

  // the moment: set once resolved, again when the run's metrics have loaded (the step is known then)
  useEffect(() => {
    if (!runId || !target || target.time === null) return;
    const time = target.time;
    timeline.set(momentAt(runId, time));
    const store = runMetrics(runId);
    if (!store.loading) return;
    const off = store.onChange(() => {
      if (store.loading) return;
      off();
      const m = timeline.get();
      if (m && m.runId === runId && m.time === time) timeline.set(momentAt(runId, time));
    });
    return off;
  }, [runId, target]);

  /** Leave the place: the page's URL without it (the moment stays until "back to live"). */
  const clear = useCallback(() => navigate(location.pathname, { replace: true }), [navigate, location.pathname]);
  return { place, target, error: q.error ? (q.error as Error).message : null, clear };
}
