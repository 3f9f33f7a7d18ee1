// The run page's alerts: the run's alerts (firing first, each with ACK), kept current by the /ws "alert" messages
// (and a slow poll where the socket is down). Nothing is drawn for a run that never raised one.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link } from "react-router";
import { live } from "../api/live";
import { Panel } from "../components/Panel";
import { acknowledge, listAlerts } from "./api";
import "./alerts.css";
import { isUnacked, runAlertOrder } from "./model";

/** Alerts of one run asked at once (the rest: the /alerts page). */
const SHOWN = 50;
const when = (t: number | null) => (t ? new Date(t * 1000).toISOString().slice(0, 19).replace("T", " ") : "");

/** Refetch the alert queries when the server announces an alert change on /ws. */
export function useAlertInvalidation(): void {
  const qc = useQueryClient();
  useEffect(
    () =>
      live.onMessage((m) => {
        // {"type": "alert", event, alert} (server alerts/transitions.announce): not in the generated socket types
        if ((m as { type: string }).type === "alert") void qc.invalidateQueries({ queryKey: ["alerts"] });
      }),
    [qc],
  );
}

export function RunAlerts({ runId, collapsed, onToggle }: { runId: string; collapsed?: boolean; onToggle?: () => void }) {
  const qc = useQueryClient();
  useAlertInvalidation();
  const q = useQuery({
    queryKey: ["alerts", "run", runId],
    queryFn: () => listAlerts({ run_id: runId, limit: SHOWN }),
    refetchInterval: 15_000,
  });
  const alerts = runAlertOrder(q.data?.alerts ?? []);
  if (q.isError)
    return (
      <Panel title="ALERTS" className="p-alerts" collapsed={collapsed} onToggle={onToggle}>
        <div className="red small">cannot load this run&apos;s alerts: {(q.error as Error).message}</div>
      </Panel>
    );
  if (alerts.length === 0) return null;
  const firing = alerts.filter(isUnacked).length;
  const ack = async (id: number) => {
    await acknowledge(id);
    await qc.invalidateQueries({ queryKey: ["alerts"] });
  };
  return (
    <Panel
      title="ALERTS"
      className="p-alerts"
      collapsed={collapsed}
      onToggle={onToggle}
      extra={<span className={firing ? "red" : "muted"}>{firing ? `${firing} FIRING` : "none firing"}</span>}
    >
      <ul className="run-alerts" aria-label="alerts of this run" data-testid="run-alerts">
        {alerts.map((a) => (
          <li key={a.id} className={`alert-${isUnacked(a) ? "firing" : a.state === "resolved" ? "resolved" : "acknowledged"}`} data-alert-id={a.id}>
            <span className="alert-state">{isUnacked(a) ? "FIRING" : a.state === "resolved" ? "RESOLVED" : "ACKED"}</span>{" "}
            <span className="amber">{a.title}</span>
            {a.step !== null && <span className="muted small"> · step {a.step.toLocaleString("en-US")}</span>}
            <div className="small" title={a.message}>
              {a.message}
            </div>
            <div className="muted small">
              {when(a.fired_at ?? a.started_at)}
              {a.resolved_at ? ` · resolved ${when(a.resolved_at)}` : ""}
              {a.acked_by ? ` · acked by ${a.acked_by}` : a.acked_at ? " · acked" : ""}
              {isUnacked(a) && (
                <>
                  {" "}
                  <button className="btn" onClick={() => void ack(a.id)} title="someone is on it: no reminders">
                    ACK
                  </button>
                </>
              )}
            </div>
          </li>
        ))}
      </ul>
      <div className="muted small">
        {(q.data?.total ?? 0) > alerts.length ? `showing the newest ${alerts.length} of ${q.data?.total} · ` : ""}
        <Link to="/alerts">all alerts and rules →</Link>
      </div>
    </Panel>
  );
}
