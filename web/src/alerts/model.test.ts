import { describe, expect, it } from "vitest";
import type { Alert } from "./api";
import { counts, deliverySummary, newlyFiring, ruleFromForm, runAlertOrder } from "./model";

const alert = (id: number, state: Alert["state"], deliveries: Alert["deliveries"] = []): Alert => ({
  id,
  rule_id: 1,
  run_id: "r",
  key: "loss",
  state,
  level: "error",
  title: "t",
  message: "m",
  value: "NaN",
  step: 500,
  started_at: 0,
  fired_at: 0,
  resolved_at: null,
  acked_at: null,
  acked_by: null,
  deliveries,
});

describe("alerts model", () => {
  it("notifies only alerts that started firing since the last poll", () => {
    expect(newlyFiring(undefined, [alert(1, "firing")])).toEqual([]);
    expect(newlyFiring([alert(1, "firing")], [alert(2, "firing"), alert(1, "firing")]).map((a) => a.id)).toEqual([2]);
    expect(newlyFiring([alert(1, "firing")], [alert(1, "acknowledged")])).toEqual([]);
  });

  it("counts by state and sums deliveries with the first error", () => {
    expect(counts([alert(1, "firing"), alert(2, "resolved"), alert(3, "firing")])).toEqual({
      firing: 2,
      acknowledged: 0,
      resolved: 1,
    });
    const d = (status: "sent" | "failed" | "pending", last_error: string | null = null) => ({
      channel: "json://x",
      event: "firing",
      status,
      attempts: 1,
      last_error,
      created_at: 0,
      sent_at: null,
    });
    expect(deliverySummary(alert(1, "firing"))).toBe("no channels");
    expect(deliverySummary(alert(1, "firing", [d("sent"), d("failed", "boom\nHTTP 500")]))).toBe("1 sent, 1 failed (HTTP 500)");
  });

  it("builds a rule from the quick form, naming what is missing", () => {
    const base = { name: "", project: "p", kind: "threshold", key: "loss", value: "", channels: "" };
    expect(ruleFromForm(base)).toBe("threshold needs a number");
    expect(ruleFromForm({ ...base, project: " " })).toBe("project is required");
    expect(ruleFromForm({ ...base, value: "5", channels: "json://a, mailto://b" })).toEqual({
      name: "threshold loss",
      project: "p",
      condition: { kind: "threshold", key: "loss", value: 5 },
      channels: ["json://a", "mailto://b"],
    });
  });
});

describe("a run's alerts in its page's order", () => {
  it("lists firing ones first, then acknowledged, then resolved; newest first within each", () => {
    const at = (a: Alert, t: number): Alert => ({ ...a, fired_at: t, started_at: t });
    const old = at(alert(1, "firing"), 100);
    const resolvedNew = at(alert(2, "resolved"), 300);
    const acked = { ...at(alert(3, "acknowledged"), 200), acked_at: 250 };
    const firingNew = at(alert(4, "firing"), 400);
    expect(runAlertOrder([old, resolvedNew, acked, firingNew]).map((a) => a.id)).toEqual([4, 1, 3, 2]);
  });
});
