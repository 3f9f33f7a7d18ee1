// /alerts: the rules (one-click defaults per project, a quick rule form) and the alerts they raised, with each
// alert's deliveries and an acknowledge button. Polls every 2 s; browser notifications when allowed.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { Panel } from "../components/Panel";
import "./alerts.css";
import { acknowledge, createDefaults, createRule, deleteRule, listAlerts, listRules, type Alert } from "./api";
import { counts, deliverySummary, ruleFromForm, type QuickForm } from "./model";
import { useAlertNotifications } from "./useAlertNotifications";

const KINDS = ["nan", "threshold", "stall", "status", "plateau", "divergence", "change", "throughput", "log"];
const when = (t: number | null) => (t ? new Date(t * 1000).toLocaleString() : "");

function AlertRow({ alert, onAck }: { alert: Alert; onAck: (a: Alert) => void }) {
  return (
    <tr className={`alert-${alert.state}`} data-testid="alert-row">
      <td className="alert-state">{alert.state.toUpperCase()}</td>
      <td>
        <div className="amber">{alert.title}</div>
        <div className="small">{alert.message}</div>
      </td>
      <td>{alert.run_id ? <Link to={`/runs/${alert.run_id}`}>{alert.run_id}</Link> : "—"}</td>
      <td className="small">{when(alert.fired_at ?? alert.started_at)}</td>
      <td className="small" title={alert.deliveries.map((d) => `${d.channel}: ${d.status}`).join("\n")}>
        {deliverySummary(alert)}
      </td>
      <td>
        {alert.state === "firing" && (
          <button className="btn" onClick={() => onAck(alert)}>
            ACK
          </button>
        )}
        {alert.acked_by && <span className="small muted">by {alert.acked_by}</span>}
      </td>
    </tr>
  );
}

export function AlertsPage() {
  const qc = useQueryClient();
  const rules = useQuery({ queryKey: ["alerts", "rules"], queryFn: () => listRules(), refetchInterval: 5000 });
  const alerts = useQuery({ queryKey: ["alerts", "list"], queryFn: () => listAlerts(), refetchInterval: 2000 });
  const notify = useAlertNotifications(alerts.data?.alerts);
  const [form, setForm] = useState<QuickForm>({ name: "", project: "", kind: "nan", key: "", value: "", channels: "" });
  const [error, setError] = useState<string | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: ["alerts"] });
  const run = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      refresh();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const rule = ruleFromForm(form);
    if (typeof rule === "string") setError(rule);
    else void run(() => createRule(rule));
  };
  const field = (k: keyof QuickForm) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }),
  });
  const c = counts(alerts.data?.alerts ?? []);
  const channels = form.channels.split(/[\s,]+/).filter(Boolean);

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">▌TRAINBOARD</span>
        <Link className="btn link" to="/">
          ← DASHBOARD
        </Link>
        <span className="spacer" />
        <span className="small">
          {c.firing} firing · {c.acknowledged} acknowledged · {c.resolved} resolved
        </span>
        {notify.permission === "default" && (
          <button className="btn" onClick={notify.ask}>
            BROWSER NOTIFICATIONS
          </button>
        )}
      </header>
      <main className="alerts-page">
        <Panel title="ALERTS">
          {alerts.data && alerts.data.total > alerts.data.alerts.length && (
            <p className="small muted">
              showing the newest {alerts.data.alerts.length} of {alerts.data.total}
            </p>
          )}
          {alerts.data?.alerts.length === 0 && <p className="muted">nothing has fired</p>}
          <table className="alerts-table">
            <tbody>
              {alerts.data?.alerts.map((a) => (
                <AlertRow key={a.id} alert={a} onAck={(x) => void run(() => acknowledge(x.id))} />
              ))}
            </tbody>
          </table>
        </Panel>
        <Panel title="RULES">
          <form className="alerts-form" onSubmit={submit}>
            <input placeholder="project" aria-label="project" {...field("project")} />
            <input placeholder="channels (Apprise URLs)" aria-label="channels" {...field("channels")} />
            <button
              type="button"
              className="btn"
              disabled={!form.project.trim()}
              onClick={() => void run(() => createDefaults(form.project.trim(), channels))}
            >
              ADD DEFAULTS (NaN, stall, crashed)
            </button>
            <span className="spacer" />
            <input placeholder="rule name" aria-label="rule name" {...field("name")} />
            <select aria-label="kind" {...field("kind")}>
              {KINDS.map((k) => (
                <option key={k}>{k}</option>
              ))}
            </select>
            <input placeholder="metric key" aria-label="metric key" {...field("key")} />
            <input placeholder="value / seconds" aria-label="value" {...field("value")} />
            <button className="btn" type="submit">
              ADD RULE
            </button>
          </form>
          {error && <p className="red">{error}</p>}
          <table className="alerts-table">
            <tbody>
              {rules.data?.map((r) => (
                <tr key={r.id} data-testid="rule-row">
                  <td>{r.name}</td>
                  <td className="small">{r.project !== null ? `project ${r.project}` : `run ${r.run_id}`}</td>
                  <td className="small">{r.description}</td>
                  <td className="small">{r.channels.join(", ") || "dashboard only"}</td>
                  <td>
                    <button className="btn" onClick={() => void run(() => deleteRule(r.id))}>
                      REMOVE
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      </main>
    </div>
  );
}
