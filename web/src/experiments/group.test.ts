import { describe, expect, it } from "vitest";
import { countRange, fmtValue, groupColumns, groupLines, groupRuns, meanBand, varyingKeys, type GroupSeries } from "./group";
import { unitOf } from "../charts/units";

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

describe("server group aggregates", () => {
  const s: GroupSeries = {
    step: [0, 1, 2],
    count: [3, 3, 1],
    nonfinite: [0, 0, 0],
    mean: [2, 3, 5],
    median: [2, 2.5, 5],
    min: [1, 2, 5],
    max: [3, 4.5, 5],
    std: [1, 1.3, 0],
    sem: [0.5, 0.75, 0],
  };
  it("draws the chosen line inside the chosen band", () => {
    expect(groupLines(s, "mean", "minmax")).toEqual({ y: [2, 3, 5], upper: [3, 4.5, 5], lower: [1, 2, 5] });
    expect(groupLines(s, "median", "std").upper).toEqual([3, 3.8, 5]);
    expect(groupLines(s, "mean", "sem").lower).toEqual([1.5, 2.25, 5]);
    expect(groupLines(s, "mean", "none").upper).toEqual([null, null, null]);
  });
  it("aligns groups on the union of their steps without inventing points", () => {
    const other: GroupSeries = { ...s, step: [1, 3], count: [2, 2], nonfinite: [0, 0], mean: [7, 8], median: [7, 8], min: [6, 7], max: [8, 9], std: [0, 0], sem: [0, 0] };
    const cols = groupColumns([s, other], "mean", "minmax");
    expect(cols[0]).toEqual([0, 1, 2, 3]);
    expect(cols[3]).toEqual([2, 3, 5, undefined]); // the first group's mean
    expect(cols[6]).toEqual([undefined, 7, undefined, 8]); // the second's
  });
  it("says how many runs are behind the points", () => {
    expect(countRange(s)).toBe("1–3 runs");
    expect(countRange({ ...s, count: [3333, 3333, 3333] })).toBe("3,333 runs");
    expect(countRange(null)).toBe("no runs");
  });
  it("a mean over many runs equals the direct computation (10,000 runs)", () => {
    // the aggregate the page draws is the server's; here the client's own meanBand gives the same over 10,000 runs
    const members = Array.from({ length: 10_000 }, (_, i) => ({ x: [0, 1, 2], y: [i, i * 2, i % 7] }));
    const b = meanBand(members);
    expect(b.n).toEqual([10_000, 10_000, 10_000]);
    expect(b.mean[0]).toBeCloseTo(4999.5, 9);
    expect(b.mean[1]).toBeCloseTo(9999, 9);
    expect(b.mean[2]).toBeCloseTo(members.reduce((a, m) => a + (m.y[2] as number), 0) / 10_000, 9);
  });
});

describe("fmtValue: a group's value in its key's unit", () => {
  it("shows process memory in MB under 1 GB and in GB above, a plain number without a unit", () => {
    const rss = unitOf("sys/proc_rss");
    expect(fmtValue(36_175_872, rss)).toMatch(/^34\.50? MB$/);
    expect(fmtValue(3 * 1024 ** 3, rss)).toMatch(/^3(\.0+)? GB$/);
    expect(fmtValue(87.5, unitOf("sys/cpu_percent"))).toMatch(/^87\.50? %$/);
    expect(fmtValue(0.25, unitOf("val/loss"))).toMatch(/^0\.250*$/);
  });
});
