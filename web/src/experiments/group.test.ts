import { describe, expect, it } from "vitest";
import { groupRuns, meanBand, varyingKeys } from "./group";

const runs = [
  { id: "a", config: { lr: 0.1, seed: 1 }, tags: ["x"] },
  { id: "b", config: { lr: 0.1, seed: 2 }, tags: ["x", "y"] },
  { id: "c", config: { lr: 0.01, seed: 1 }, tags: [] },
  { id: "d", config: { lr: 0.01, seed: 2 } },
];

describe("groupRuns", () => {
  it("groups by the value of a config key", () => {
    const g = groupRuns(runs, "config.seed");
    expect(g.map((x) => [x.label, x.runs.map((r) => r.id)])).toEqual([
      ["seed=1", ["a", "c"]],
      ["seed=2", ["b", "d"]],
    ]);
  });
  it("groups over a key: by every other varying key", () => {
    const g = groupRuns(runs, "config.seed", "over");
    expect(g.map((x) => [x.label, x.runs.map((r) => r.id)])).toEqual([
      ["lr=0.01", ["c", "d"]],
      ["lr=0.1", ["a", "b"]],
    ]);
  });
  it("puts a run in each of its tags' groups", () => {
    const g = groupRuns(runs, "tag");
    expect(Object.fromEntries(g.map((x) => [x.label, x.runs.map((r) => r.id)]))).toEqual({
      "(untagged)": ["c", "d"],
      x: ["a", "b"],
      y: ["b"],
    });
  });
  it("labels runs without the key", () => {
    expect(groupRuns([{ id: "z", config: {} }], "config.seed")[0]?.label).toBe("seed=(none)");
  });
  it("finds the varying keys", () => {
    expect(varyingKeys([{ a: 1, b: 2 }, { a: 1, b: 3 }])).toEqual(["b"]);
  });
});

describe("meanBand", () => {
  it("gives mean, min and max at each step", () => {
    const b = meanBand([
      { x: [0, 1, 2], y: [1, 2, 3] },
      { x: [0, 1, 2], y: [3, 4, 5] },
    ]);
    expect(b.x).toEqual([0, 1, 2]);
    expect(b.mean).toEqual([2, 3, 4]);
    expect(b.min).toEqual([1, 2, 3]);
    expect(b.max).toEqual([3, 4, 5]);
    expect(b.n).toEqual([2, 2, 2]);
  });
  it("interpolates between a member's points and never extrapolates past its end", () => {
    const b = meanBand([
      { x: [0, 10], y: [0, 10] },
      { x: [0, 5, 20], y: [4, 4, 4] },
    ]);
    expect(b.x).toEqual([0, 5, 10, 20]);
    expect(b.mean).toEqual([2, 4.5, 7, 4]); // at 10 the second is 4, at 20 only the second counts
    expect(b.n).toEqual([2, 2, 2, 1]);
    expect(b.min[1]).toBe(4);
    expect(b.max[1]).toBe(5);
  });
  it("skips non-finite values", () => {
    const b = meanBand([
      { x: [0, 1], y: [NaN, 2] },
      { x: [0, 1], y: [1, 4] },
    ]);
    expect(b.mean).toEqual([1, 3]);
    expect(b.n).toEqual([1, 2]);
  });
  it("is empty for no members", () => {
    expect(meanBand([]).x).toEqual([]);
  });
});
