// The alert endpoints (server/api/alerts.py): rules, alerts with their deliveries, acknowledging, defaults.
import { query, request } from "../api/client";

export interface AlertRule {
  id: number;
  name: string;
  project: string | null;
  run_id: string | null;
  condition: Record<string, unknown> & { kind: string };
  description: string;
  for_seconds: number;
  repeat_seconds: number | null;
  /** masked: a channel's secrets are never sent back */
  channels: string[];
  enabled: boolean;
  muted_until: number | null;
  created_by: string | null;
  created_at: number;
}

export interface Delivery {
  channel: string;
  event: string;
  status: "pending" | "sent" | "failed";
  attempts: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface Alert {
  id: number;
  rule_id: number | null;
  run_id: string | null;
  key: string;
  state: "firing" | "resolved" | "acknowledged";
  level: string;
  title: string;
  message: string;
  value: number | string | null;
  step: number | null;
  started_at: number;
  fired_at: number | null;
  resolved_at: number | null;
  acked_at: number | null;
  acked_by: string | null;
  deliveries: Delivery[];
}

export interface NewRule {
  name: string;
  project?: string;
  run_id?: string;
  condition: Record<string, unknown>;
  channels: string[];
  for_seconds?: number;
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/json", Accept: "application/json" },
  body: JSON.stringify(body),
});

export async function listRules(project?: string): Promise<AlertRule[]> {
  return ((await (await request(`/api/alert-rules${query({ project })}`)).json()) as { rules: AlertRule[] }).rules;
}

export async function createRule(rule: NewRule): Promise<AlertRule> {
  return (await (await request("/api/alert-rules", json(rule))).json()) as AlertRule;
}

export async function createDefaults(project: string, channels: string[]): Promise<AlertRule[]> {
  return ((await (await request("/api/alert-rules/defaults", json({ project, channels }))).json()) as { rules: AlertRule[] })
    .rules;
}

export async function deleteRule(id: number): Promise<void> {
  await request(`/api/alert-rules/${id}`, { method: "DELETE" });
}

export async function setRuleEnabled(id: number, enabled: boolean): Promise<void> {
  await request(`/api/alert-rules/${id}`, { ...json({ enabled }), method: "PATCH" });
}

export async function listAlerts(
  params: { run_id?: string; state?: string; limit?: number } = {},
): Promise<{ alerts: Alert[]; total: number }> {
  return (await (await request(`/api/alerts${query(params)}`)).json()) as { alerts: Alert[]; total: number };
}

export async function acknowledge(id: number): Promise<Alert> {
  return (await (await request(`/api/alerts/${id}/ack`, { method: "POST" })).json()) as Alert;
}
