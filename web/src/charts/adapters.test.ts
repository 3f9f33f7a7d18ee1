import { describe, expect, it } from "vitest";
import { seriesFromWire } from "../api/client";
import {
  appendPoint,
  ema,
  joinOnX,
  lastWindow,
  logSplits,
  mergeRange,
  nonFiniteMarkers,
  plotValues,
  pointsFromSeries,
  runColumns,
  stepRangeForX,
  xValues,
  type Points,
} from "./adapters";

const pts = (steps: number[], values?: number[]): Points => ({
  step: steps,
  value: values ?? steps.map((s) => s * 10),
  time: steps.map((s) => 1000 + s),
});

describe("API columns -> points", () => {
  it("decodes the non-finite strings of the wire", () => {
    const s = seriesFromWire({
      count: 4,
      downsampled: false,
      step: [1, 2, 3, 4],
      value: [0.5, "NaN", "Infinity", "-Infinity"],
      timestamp: [10, 11, 12, 13],
    });
    const p = pointsFromSeries(s);
    expect(p.step).toEqual([1, 2, 3, 4]);
    expect(p.value[0]).toBe(0.5);
    expect(Number.isNaN(p.value[1])).toBe(true);
    expect(p.value[2]).toBe(Infinity);
    expect(p.value[3]).toBe(-Infinity);
    expect(s.count).toBe(4);
  });
});

describe("mergeRange (zoomed finer downsample into the coarse series)", () => {
  it("replaces the coarse points inside the range by the fine ones", () => {
    const coarse = pts([0, 100, 200, 300, 400]);
    const fine = pts([100, 125, 150, 175, 200, 225]);
    const m = mergeRange(coarse, fine, 100, 200);
    expect(m.step).toEqual([0, 100, 125, 150, 175, 200, 300, 400]);
    expect(m.value).toEqual(m.step.map((s) => s * 10));
    expect(m.time).toEqual(m.step.map((s) => 1000 + s));
  });

  it("handles ranges at the edges and empty fine data", () => {
    const coarse = pts([0, 10, 20]);
    expect(mergeRange(coarse, pts([]), 5, 15).step).toEqual([0, 20]);
    expect(mergeRange(coarse, pts([0, 1, 2]), -5, 2).step).toEqual([0, 1, 2, 10, 20]);
    expect(mergeRange(coarse, pts([19, 20, 21]), 19, 30).step).toEqual([0, 10, 19, 20, 21]);
  });

  it("stays sorted and duplicate-free", () => {
    const coarse = pts([0, 50, 100, 150, 200]);
    const fine = pts([40, 50, 60, 70, 80, 90, 100, 110]);
    const m = mergeRange(coarse, fine, 45, 105);
    for (let i = 1; i < m.step.length; i++) expect(m.step[i]).toBeGreaterThan(m.step[i - 1] as number);
    expect(m.step).toEqual([0, 50, 60, 70, 80, 90, 100, 150, 200]);
  });
});

describe("appendPoint", () => {
  it("appends, replaces a repeated step and inserts out of order", () => {
    const p = pts([1, 2]);
    appendPoint(p, 3, 30, 0);
    appendPoint(p, 2, 99, 0);
    appendPoint(p, 0, 5, 0);
    expect(p.step).toEqual([0, 1, 2, 3]);
    expect(p.value).toEqual([5, 10, 99, 30]);
  });
});

describe("ema", () => {
  it("is the raw series at weight 0", () => {
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
  });
  it("is debiased: a constant series stays constant", () => {
    for (const v of ema([5, 5, 5, 5], 0.9)) expect(v).toBeCloseTo(5);
  });
  it("smooths a step and skips non-finite values", () => {
    const out = ema([0, 0, NaN, 10, 10], 0.5);
    expect(out[2]).toBeNull();
    expect(out[0]).toBe(0);
    expect(out[3] as number).toBeGreaterThan(0);
    expect(out[3] as number).toBeLessThan(10);
    expect(out[4] as number).toBeGreaterThan(out[3] as number);
  });
});

describe("non-finite markers", () => {
  it("finds NaN, +Inf and -Inf at their x", () => {
    const p = pts([1, 2, 3, 4], [1, NaN, Infinity, -Infinity]);
    expect(nonFiniteMarkers(p, "step")).toEqual({ x: [2, 3, 4], kind: ["nan", "inf", "-inf"] });
    expect(nonFiniteMarkers(p, "wall").x).toEqual([1002, 1003, 1004]);
  });
  it("plots them as gaps, and non-positive values as gaps on a log scale", () => {
    expect(plotValues([1, NaN, Infinity, 0, -1])).toEqual([1, null, null, 0, -1]);
    expect(plotValues([1, NaN, 0, -1, 2], true)).toEqual([1, null, null, null, 2]);
  });
});

describe("window and columns", () => {
  it("keeps the last N steps", () => {
    expect(lastWindow(pts([0, 50, 100, 150, 200]), 100).step).toEqual([100, 150, 200]);
    expect(lastWindow(pts([0, 50]), null).step).toEqual([0, 50]);
  });
  it("builds x, smoothed and raw columns", () => {
    const c = runColumns(pts([1, 2, 3], [1, NaN, 3]), { xMode: "wall", window: null, smoothing: 0, logScale: false });
    expect(c.x).toEqual([1001, 1002, 1003]);
    expect(c.raw).toEqual([1, null, 3]);
    expect(c.markers.kind).toEqual(["nan"]);
    const e = runColumns(pts([1, 2, 3]), { xMode: "elapsed", window: null, smoothing: 0, logScale: false, t0: 1000 });
    expect(e.x).toEqual([1, 2, 3]);
  });
  it("never smooths a sparse series by default, and smooths a dense one", () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => i);
    const sparse = runColumns(pts(steps(8)), { xMode: "step", window: null, smoothing: 0.95, logScale: false });
    expect(sparse.smoothed).toBe(false);
    expect(sparse.smooth.every((v) => v === null)).toBe(true);
    expect(sparse.raw).toHaveLength(8);
    const forced = runColumns(pts(steps(8)), { xMode: "step", window: null, smoothing: 0.95, logScale: false, smoothSparse: true });
    expect(forced.smoothed).toBe(true);
    const dense = runColumns(pts(steps(60)), { xMode: "step", window: null, smoothing: 0.6, logScale: false });
    expect(dense.smoothed).toBe(true);
    expect(dense.smooth.every((v) => typeof v === "number")).toBe(true);
  });
});

describe("joinOnX (overlaying runs)", () => {
  it("joins on the union of x, undefined where a run has no point and null gaps kept", () => {
    const cols = joinOnX([
      { x: [1, 2, 3], ys: [[10, null, 30]] },
      { x: [2, 4], ys: [[200, 400]] },
    ]);
    expect(cols).toEqual([
      [1, 2, 3, 4],
      [10, null, 30, undefined],
      [undefined, 200, undefined, 400],
    ]);
  });
});

describe("stepRangeForX", () => {
  it("maps a wall-time zoom to the steps around it", () => {
    const p = pts([0, 10, 20, 30, 40]);
    expect(stepRangeForX(p, "step", 9.5, 20.2)).toEqual([9, 21]);
    expect(stepRangeForX(p, "wall", 1015, 1025)).toEqual([10, 30]);
    expect(stepRangeForX(p, "elapsed", 15, 25, 1000)).toEqual([10, 30]);
    expect(stepRangeForX(p, "wall", 5000, 6000)).toBeNull();
  });
});

describe("logSplits", () => {
  it("puts ticks at powers of ten over wide ranges, never the 2..9 grid", () => {
    expect(logSplits(0.001, 1000)).toEqual([0.001, 0.01, 0.1, 1, 10, 100, 1000]);
    expect(logSplits(1e-12, 1e12).length).toBeLessThanOrEqual(9);
  });
  it("adds 2x and 5x over a decade or two, and keeps the ends of a narrow range", () => {
    expect(logSplits(0.1, 3)).toEqual([0.1, 0.2, 0.5, 1, 2]);
    expect(logSplits(0.3, 0.4)).toEqual([0.3, 0.4]);
    expect(logSplits(0, 1)).toEqual([]);
  });
});

describe("the COST axis", () => {
  const p = { step: [0, 10, 20, 30], value: [4, 3, 2, 1], time: [1000, 1360, 1720, 2080] };
  it("is the dollars the run had cost at each point: price × hours since it is billed", () => {
    expect(xValues(p, "cost", 1000, 2.5)).toEqual([0, 0.25, 0.5, 0.75]);
  });
  it("maps a zoom in dollars back to the steps drawn there", () => {
    expect(stepRangeForX(p, "cost", 0.2, 0.55, 1000, 2.5)).toEqual([0, 30]);
    expect(stepRangeForX(p, "cost", 0.2, 0.55, 1000, 0)).toBeNull(); // no price: no cost axis to zoom on
  });
  it("puts NaN markers where the spending was", () => {
    const bad = { ...p, value: [1, NaN, 2, 3] };
    expect(nonFiniteMarkers(bad, "cost", 1000, 2.5)).toEqual({ x: [0.25], kind: ["nan"] });
  });
});
