import { describe, expect, it } from "vitest";
import { axisPos, axisValue, brushedIds, makeAxis, parallelData, pointerPos, wrapLabel } from "./parallel";

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

describe("pointer <-> value on an axis", () => {
  it("maps the hit area's top to the axis' top value and its bottom to the bottom value", () => {
    // an axis drawn 200 px tall whose box starts 400 px down the page (the page scrolled: any offset)
    const top = 400;
    const h = 200;
    const lin = makeAxis("lr", [1e-4, 3e-4, 1e-3, 3e-3]);
    expect(lin.log).toBe(false);
    expect(axisValue(lin, pointerPos(top, top, h))).toBeCloseTo(3e-3);
    expect(axisValue(lin, pointerPos(top + h, top, h))).toBeCloseTo(1e-4);
    // a third of the way down: two thirds up the value range
    expect(axisValue(lin, pointerPos(top + h / 3, top, h))).toBeCloseTo(1e-4 + (2 / 3) * (3e-3 - 1e-4));
    // outside the box: clamped to the axis ends
    expect(pointerPos(top - 50, top, h)).toBe(1);
    expect(pointerPos(top + h + 50, top, h)).toBe(0);
    // a hit area 6 px taller at each end: its first pixels are the top value
    expect(pointerPos(top - 4, top - 6, h + 12, 6)).toBe(1);
    expect(pointerPos(top + h / 2, top - 6, h + 12, 6)).toBeCloseTo(0.5);
  });
  it("inverts axisPos on a log axis", () => {
    const log = makeAxis("lr", [1e-5, 1e-3, 1e-1]);
    for (const v of [1e-5, 3e-4, 1e-3, 0.05]) expect(axisValue(log, axisPos(log, v) as number)).toBeCloseTo(v, 8);
    // the pixel of a value maps back to that value
    const y = 100 + (1 - (axisPos(log, 1e-3) as number)) * 300;
    expect(axisValue(log, pointerPos(y, 100, 300))).toBeCloseTo(1e-3, 8);
  });
  it("brushes exactly the runs whose values lie in the dragged pixels", () => {
    const vals = [1e-4, 3e-4, 1e-3, 3e-3, 3e-3, 1e-4];
    const a = makeAxis("lr", vals);
    const lines = vals.map((v, i) => ({ id: `r${i}`, pos: [axisPos(a, v)] }));
    // drag from the top of a 300 px axis down 35 % of it
    const from = pointerPos(10, 10, 300);
    const to = pointerPos(10 + 0.35 * 300, 10, 300);
    const got = brushedIds(lines, new Map([[0, [Math.min(from, to), Math.max(from, to)] as const]]));
    const lo = axisValue(a, Math.min(from, to));
    expect([...(got ?? [])]).toEqual(lines.filter((_l, i) => (vals[i] as number) >= lo).map((l) => l.id));
    expect([...(got ?? [])]).toEqual(["r3", "r4"]);
  });
});
