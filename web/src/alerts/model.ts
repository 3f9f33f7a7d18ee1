// Pure helpers of the alerts page: what is new since the last poll (for browser notifications), counts, and the
// rule a quick form describes.
import type { Alert, NewRule } from "./api";

/** Alerts firing now that were not firing (or not present) in `before`: each is notified once. */
export function newlyFiring(before: Alert[] | undefined, now: Alert[]): Alert[] {
  if (!before) return []; // the first load is history, not news
  const was = new Set(before.filter((a) => a.state === "firing").map((a) => a.id));
  return now.filter((a) => a.state === "firing" && !was.has(a.id));
}

export function counts(alerts: Alert[]): { firing: number; acknowledged: number; resolved: number } {
  const out = { firing: 0, acknowledged: 0, resolved: 0 };
  for (const a of alerts) out[a.state] += 1;
  return out;
}

/** What a delivery list says in one line: "2 sent, 1 failed (HTTP 500 ...)". */
export function deliverySummary(alert: Alert): string {
  if (alert.deliveries.length === 0) return "no channels";
  const sent = alert.deliveries.filter((d) => d.status === "sent").length;
  const failed = alert.deliveries.filter((d) => d.status === "failed");
  const retrying = alert.deliveries.filter((d) => d.status === "pending" && d.last_error);
  const parts = [`${sent} sent`];
  if (retrying.length) parts.push(`${retrying.length} retrying`);
  if (failed.length) parts.push(`${failed.length} failed`);
  const error = [...failed, ...retrying][0]?.last_error;
  return parts.join(", ") + (error ? ` (${error.split("\n").pop()?.slice(0, 120)})` : "");
}

export interface QuickForm {
  name: string;
  project: string;
  kind: string;
  key: string;
  value: string;
  channels: string;
}

/** The rule a quick form describes; an error message instead when a field is missing. */
export function ruleFromForm(f: QuickForm): NewRule | string {
  if (!f.project.trim()) return "project is required";
  const condition: Record<string, unknown> = { kind: f.kind };
  if (f.key.trim()) condition.key = f.key.trim();
  if (f.kind === "threshold") {
    const v = Number(f.value);
    if (!f.value.trim() || !Number.isFinite(v)) return "threshold needs a number";
    condition.value = v;
  }
  if (f.kind === "stall" && f.value.trim()) condition.seconds = Number(f.value);
  const channels = f.channels.split(/[\s,]+/).filter(Boolean);
  return { name: f.name.trim() || `${f.kind} ${f.key}`.trim(), project: f.project.trim(), condition, channels };
}

/** Firing and not acknowledged: someone should look. */
export const isUnacked = (a: Alert): boolean => a.state === "firing" && a.acked_at === null;

/** A run's alerts as its page lists them: firing (unacknowledged) first, then acknowledged ones still firing, then
 * resolved; newest first within each. */
export function runAlertOrder(alerts: readonly Alert[]): Alert[] {
  const rank = (a: Alert) => (isUnacked(a) ? 0 : a.state === "resolved" ? 2 : 1);
  return [...alerts].sort((a, b) => rank(a) - rank(b) || (b.fired_at ?? b.started_at) - (a.fired_at ?? a.started_at) || b.id - a.id);
}
