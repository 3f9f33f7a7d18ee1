import { describe, expect, it } from "vitest";
import { configDiff, fmtScalar } from "./diff";

describe("configDiff", () => {
  it("lists only the keys that differ, missing keys included", () => {
    const rows = configDiff([
      { lr: 1e-3, seed: 1, model: { depth: 18, width: 64 } },
      { lr: 1e-3, seed: 2, model: { depth: 34, width: 64 }, extra: true },
    ]);
    expect(rows).toEqual([
      { key: "extra", values: [undefined, true] },
      { key: "model.depth", values: [18, 34] },
      { key: "seed", values: [1, 2] },
    ]);
  });
  it("is empty for identical configs and treats NaN as equal to NaN", () => {
    expect(configDiff([{ a: 1, b: NaN }, { a: 1, b: NaN }])).toEqual([]);
  });
  it("tells null apart from a missing key", () => {
    expect(configDiff([{ a: null }, {}])).toEqual([{ key: "a", values: [null, undefined] }]);
  });
});

describe("fmtScalar", () => {
  it("formats small numbers in exponent form", () => {
    expect(fmtScalar(0.0001)).toBe("1.00e-4");
    expect(fmtScalar(3)).toBe("3");
    expect(fmtScalar(undefined)).toBe("—");
    expect(fmtScalar("adam")).toBe("adam");
  });
});
