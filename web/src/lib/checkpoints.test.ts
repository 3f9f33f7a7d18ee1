import { describe, expect, it } from "vitest";
import type { Checkpoint } from "../api/types";
import { checkpointMetricKeys, sortCheckpoints } from "./checkpoints";

function ck(id: string, step: number | null, metrics: Checkpoint["metrics"], created: string): Checkpoint {
  return {
    id,
    run_id: "r",
    path: `ckpt/${id}.pt`,
    size: step === null ? null : step * 10,
    step,
    metrics,
    metadata: {},
    is_best: false,
    valid: true,
    invalid_reason: null,
    created_at: created,
  };
}

const list = [
  ck("a", 1000, { loss: 0.5, acc: 0.8 }, "2026-11-22T10:00:00Z"),
  ck("b", 3000, { loss: 0.2 }, "2026-11-22T12:00:00Z"),
  ck("c", 2000, { loss: "NaN", acc: 0.9 }, "2026-11-22T11:00:00Z"),
  ck("d", null, { loss: 0.1 }, "2026-11-22T09:00:00"),
];

const ids = (l: Checkpoint[]) => l.map((c) => c.id).join("");

describe("sortCheckpoints", () => {
  it("sorts by step both ways with missing steps last", () => {
    expect(ids(sortCheckpoints(list, "step", "asc"))).toBe("acbd");
    expect(ids(sortCheckpoints(list, "step", "desc"))).toBe("bcad");
  });
  it("sorts by a metric with NaN and missing values last", () => {
    expect(ids(sortCheckpoints(list, "metric:loss", "asc"))).toBe("dbac");
    expect(ids(sortCheckpoints(list, "metric:loss", "desc"))).toBe("abdc");
    expect(ids(sortCheckpoints(list, "metric:acc", "desc"))).toBe("cabd");
  });
  it("sorts by creation time (naive times are UTC)", () => {
    expect(ids(sortCheckpoints(list, "created_at", "asc"))).toBe("dacb");
  });
  it("does not modify its input", () => {
    const copy = [...list];
    sortCheckpoints(list, "step", "desc");
    expect(list).toEqual(copy);
  });
  it("lists the metric columns", () => {
    expect(checkpointMetricKeys(list)).toEqual(["acc", "loss"]);
  });
});
