import { describe, expect, it } from "vitest";
import { cellText, heatmap, lineDiff, nearestStep } from "./model";

describe("heatmap", () => {
  it("puts histograms on one range and scales each column to its peak", () => {
    const map = heatmap(
      [
        { bin_edges: [0, 1, 2], counts: [1, 3], nonfinite: 0 },
        { bin_edges: [2, 4], counts: [5], nonfinite: 0 },
      ],
      4,
    );
    expect(map.lo).toBe(0);
    expect(map.hi).toBe(4);
    expect(Array.from(map.columns[0]!)).toEqual([Math.fround(1 / 3), 1, 0, 0]);
    expect(Array.from(map.columns[1]!)).toEqual([0, 0, 1, 1]);
  });
  it("has no columns without histograms", () => {
    expect(heatmap([], 8).columns).toEqual([]);
  });
});

describe("lineDiff", () => {
  it("marks removed and added lines between common ones", () => {
    const { ops, exact } = lineDiff("a\nb\nc\nd", "a\nc\nx\nd");
    expect(exact).toBe(true);
    expect(ops).toEqual([
      { op: "same", text: "a" },
      { op: "del", text: "b" },
      { op: "same", text: "c" },
      { op: "add", text: "x" },
      { op: "same", text: "d" },
    ]);
  });
  it("says when a huge change is not diffed line by line", () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join("\n");
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join("\n");
    const { ops, exact } = lineDiff(a, b);
    expect(exact).toBe(false);
    expect(ops.filter((o) => o.op === "del")).toHaveLength(3000);
  });
});

describe("steps and cells", () => {
  it("finds the nearest step", () => {
    expect(nearestStep([0, 10, 20], 14)).toBe(10);
    expect(nearestStep([0, 10, 20], 16)).toBe(20);
    expect(nearestStep([0, 10, 20], 99)).toBe(20);
  });
  it("shows cells as text", () => {
    expect(cellText(null)).toBe("");
    expect(cellText(0.5)).toBe("0.5");
    expect(cellText(3)).toBe("3");
    expect(cellText("NaN")).toBe("NaN");
    expect(cellText(true)).toBe("true");
  });
});
