import { describe, expect, it } from "vitest";
import { axisPos, brushedIds, makeAxis, parallelData, wrapLabel } from "./parallel";

describe("parallel coordinates", () => {
  it("scales numbers linearly, or by log when they span decades", () => {
    const lin = makeAxis("x", [0, 5, 10]);
    expect(axisPos(lin, 5)).toBe(0.5);
    const log = makeAxis("lr", [1e-5, 1e-3, 1e-1]);
    expect(log.log).toBe(true);
    expect(axisPos(log, 1e-3)).toBeCloseTo(0.5);
  });
  it("spreads categories and places a lone value in the middle", () => {
    const c = makeAxis("opt", ["sgd", "adam", "adam"]);
    expect(c.categories).toEqual(["adam", "sgd"]);
    expect(axisPos(c, "sgd")).toBe(1);
    expect(axisPos(makeAxis("k", [3, 3]), 3)).toBe(0.5);
  });
  it("gives null for a missing value", () => {
    const d = parallelData(
      [
        { id: "a", config: { lr: 0.1 }, metric: 1 },
        { id: "b", config: {}, metric: null },
      ],
      ["lr"],
      "loss",
    );
    expect(d.axes.map((a) => a.key)).toEqual(["lr", "loss"]);
    expect(d.lines[1]?.pos).toEqual([null, null]);
  });
});

describe("brushing and labels", () => {
  const lines = [
    { id: "a", pos: [0.1, 0.9] },
    { id: "b", pos: [0.5, 0.2] },
    { id: "c", pos: [null, 0.5] },
  ];
  it("keeps the runs inside every brush", () => {
    expect(brushedIds(lines, new Map())).toBeNull();
    expect([...(brushedIds(lines, new Map([[0, [0, 0.6] as const]])) ?? [])]).toEqual(["a", "b"]);
    expect([...(brushedIds(lines, new Map([[0, [0, 0.6] as const], [1, [0.5, 1] as const]])) ?? [])]).toEqual(["a"]);
  });
  it("wraps a long axis title instead of cutting it", () => {
    const parts = wrapLabel("optimizer.schedule.warmup_steps", 12);
    expect(parts.join("")).toBe("optimizer.schedule.warmup_steps");
    expect(parts.every((p) => p.length <= 12)).toBe(true);
  });
});
