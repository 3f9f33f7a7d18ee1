import { describe, expect, it } from "vitest";
import type { ExpRun } from "./api";
import { BLOCK, blocksOf, viewOf } from "./runsWindow";

const run = (id: string) => ({ id }) as ExpRun;

describe("blocksOf", () => {
  it("asks for the blocks in view and a margin, never the ones before", () => {
    expect(blocksOf(0, 44, null)).toEqual([0]);
    expect(blocksOf(99_955, 99_999, 100_000)).toEqual([999]);
    expect(blocksOf(50_030, 50_060, 100_000)).toEqual([500]);
    expect(blocksOf(50_050, 50_094, 100_000)).toEqual([500, 501]);
  });
  it("stays inside the total", () => {
    expect(blocksOf(0, 44, 10)).toEqual([0]);
    expect(blocksOf(0, 44, 0)).toEqual([0]);
    expect(blocksOf(250, 400, 260)).toEqual([2]);
  });
});

describe("viewOf", () => {
  it("places each block's runs at their rows and leaves the rest pending", () => {
    const b5 = Array.from({ length: BLOCK }, (_, i) => run(`r${500 + i}`));
    const v = viewOf(new Map([[5, b5]]), 100_000);
    expect(v.total).toBe(100_000);
    expect(v.rowAt(500)?.id).toBe("r500");
    expect(v.rowAt(599)?.id).toBe("r599");
    expect(v.rowAt(600)).toBeUndefined();
    expect(v.rowAt(0)).toBeUndefined();
    expect(v.indexOf("r550")).toBe(550);
    expect(v.indexOf("r1")).toBe(-1);
    expect(v.loaded).toHaveLength(BLOCK);
  });
});
