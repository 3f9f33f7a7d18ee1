import { describe, expect, it } from "vitest";
import { clockKey, orderKeys, overlayAxis, overlaySeries } from "./overlay";

const points = (step: number[], value: number[], time: number[]) => ({ step, value, time });

describe("overlay", () => {
  it("draws system metrics against the seconds since the run started, in their unit", () => {
    const t0 = 1_796_181_220;
    const p = points([1_796_181_224_738, 1_796_181_226_661], [2 * 1024 ** 3, 3 * 1024 ** 3], [t0 + 4.7, t0 + 6.6]);
    expect(clockKey("sys/ram_used", [undefined, p])).toBe(true);
    const s = overlaySeries("sys/ram_used", p, t0, true);
    expect(s.x[0]).toBeCloseTo(4.7);
    expect(s.x[1]).toBeCloseTo(6.6);
    expect(s.y).toEqual([2, 3]);
    expect(overlayAxis("sys/ram_used", true)).toEqual({ xKind: "elapsed", unit: "GB" });
  });

  it("keeps a user's own sys/ key logged at training steps on the step axis", () => {
    const p = points([0, 1, 2], [40, 41, 42], [100, 101, 102]);
    expect(clockKey("sys/gpu0/utilization", [p])).toBe(false);
    expect(overlaySeries("sys/gpu0/utilization", p, 100, false).x).toEqual([0, 1, 2]);
  });

  it("draws training metrics against the step; NaN is a gap", () => {
    const s = overlaySeries("train/loss", points([0, 10, 20], [1, Number.NaN, 0.5], [5, 6, 7]), 0, false);
    expect(s).toEqual({ x: [0, 10, 20], y: [1, null, 0.5] });
    expect(overlayAxis("train/loss", false)).toEqual({ xKind: "step" });
  });

  it("orders keys as the run page does, system metrics last", () => {
    expect(orderKeys(["sys/cpu_percent", "val/loss", "lr", "train/loss", "sys/gpu0/utilization", "train/acc"])).toEqual([
      "train/acc",
      "train/loss",
      "val/loss",
      "lr",
      "sys/cpu_percent",
      "sys/gpu0/utilization",
    ]);
  });
});
