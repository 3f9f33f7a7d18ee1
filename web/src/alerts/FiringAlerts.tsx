// The top bar's count of alerts firing now (not acknowledged), linking to /alerts: live from the /ws "alert"
// messages, polled every 15 s where the page has no socket.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { listAlerts } from "./api";
import { useAlertInvalidation } from "./RunAlerts";

export function FiringAlerts() {
  useAlertInvalidation();
  const q = useQuery({
    queryKey: ["alerts", "firing-count"],
    queryFn: () => listAlerts({ state: "firing", limit: 1 }),
    refetchInterval: 15_000,
    retry: false,
  });
  const n = q.data?.total ?? null;
  if (q.isError)
    return (
      <Link to="/alerts" className="muted" data-testid="topbar-alerts" title={`cannot count the firing alerts: ${(q.error as Error).message}`}>
        ALERTS <b>?</b>
      </Link>
    );
  return (
    <Link
      to="/alerts"
      className={n ? "red" : "muted"}
      data-testid="topbar-alerts"
      data-firing={n ?? undefined}
      title={n ? `${n} alert${n === 1 ? "" : "s"} firing (not acknowledged): open the alerts` : "no alert firing: alerts and rules"}
    >
      ALERTS <b>{n === null ? "…" : n}</b>
    </Link>
  );
}
