import { describe, expect, it } from "vitest";
import { fmtNumber } from "../lib/format";
import { displayUnit, logSafe, tickLabels, sectionOf, sectionOrder, unitOf, yRange } from "./units";

describe("units", () => {
  it("knows the system sampler's keys", () => {
    expect(unitOf("sys/gpu0/utilization")?.suffix).toBe("%");
    expect(unitOf("sys/cpu_percent")?.suffix).toBe("%");
    expect(unitOf("sys/gpu1/memory_used")).toEqual({ suffix: "GB", scale: 1 / 1024 ** 3 });
    expect(unitOf("sys/gpu0/power_watts")?.suffix).toBe("W");
    expect(unitOf("sys/gpu0/temperature_c")?.suffix).toBe("°C");
    expect(unitOf("sys/net_recv_bytes_per_s")?.suffix).toBe("MB/s");
  });
  it("leaves plain metrics alone", () => {
    expect(unitOf("train/loss")).toBeNull();
    expect(unitOf("lr")).toBeNull();
  });
});

describe("sections", () => {
  it("groups by prefix, per GPU for system metrics", () => {
    expect(sectionOf("train/loss")).toBe("train");
    expect(sectionOf("loss")).toBe("other");
    expect(sectionOf("sys/gpu3/utilization")).toBe("sys/gpu3");
    expect(sectionOf("sys/cpu_percent")).toBe("sys");
  });
  it("orders train, val, the rest, then system", () => {
    expect(["sys/gpu1", "other", "zeta", "val", "sys", "train", "sys/gpu0"].sort(sectionOrder)).toEqual([
      "train",
      "val",
      "zeta",
      "other",
      "sys",
      "sys/gpu0",
      "sys/gpu1",
    ]);
  });
});

describe("display units and ranges", () => {
  it("shows memory under 1 GB in MB", () => {
    expect(displayUnit("GB", 0.0345)).toEqual({ suffix: "MB", factor: 1024 });
    expect(displayUnit("GB", 3.2)).toEqual({ suffix: "GB", factor: 1 });
    expect(displayUnit("%", 0.5)).toEqual({ suffix: "%", factor: 1 });
  });
  it("gives a percent axis a minimum span inside 0-100", () => {
    expect(yRange(96, 100, { percent: true, userMin: null, userMax: null })).toEqual([90, 100]);
    expect(yRange(1, 2, { percent: true, userMin: null, userMax: null })).toEqual([0, 10]);
    expect(yRange(40, 42, { percent: true, userMin: null, userMax: null })).toEqual([36, 46]);
    expect(yRange(10, 80, { percent: true, userMin: null, userMax: null })).toBeNull();
    expect(yRange(1, 2, { percent: false, userMin: null, userMax: null })).toBeNull();
  });
  it("takes the user's bounds", () => {
    expect(yRange(1, 2, { percent: false, userMin: 0, userMax: null })).toEqual([0, 2]);
    expect(yRange(1, 2, { percent: false, userMin: null, userMax: 10 })).toEqual([1, 10]);
    expect(yRange(NaN, NaN, { percent: false, userMin: 0, userMax: 5 })).toEqual([0, 5]);
  });
  it("counts the values a log axis cannot draw and leaves them as gaps", () => {
    const { cols, hidden } = logSafe([[1, 2, 3], [0.5, 0, -1], [null, undefined, 2]]);
    expect(hidden).toBe(2);
    expect(cols[1]).toEqual([0.5, null, null]);
    expect(cols[2]).toEqual([null, undefined, 2]);
  });
});

describe("tick labels", () => {
  it("uses enough digits to tell the ticks apart", () => {
    expect(tickLabels([0, 1, 2], fmtNumber)).toEqual(["0", "1", "2"]);
    expect(tickLabels([34.5, 34.55, 34.6], fmtNumber)).toEqual(["34.50", "34.55", "34.60"]);
    expect(tickLabels([96, 98, 100], fmtNumber)).toEqual(["96", "98", "100"]);
    expect(tickLabels([0.001, 0.01, 0.1, 1, 10], fmtNumber, true)).toEqual(["0.001", "0.01", "0.1", "1", "10"]);
    expect(tickLabels([2e-5, 1e-4], fmtNumber, true)).toEqual(["2.00e-5", "1.00e-4"]);
  });
});
