import { describe, expect, it } from "vitest";
import type { RankList, RankRecord } from "./api";
import { findings, gridPage, lineLabel, pageOf, rankState, stepBars } from "./model";

const rec = (rank: number, extra: Partial<RankRecord> = {}): RankRecord =>
  ({ rank, bytes: 0, straggler: false, ...extra }) as RankRecord;

describe("ranks model", () => {
  it("pages the grid and clamps the page", () => {
    const ranks = Array.from({ length: 20 }, (_, i) => rec(i));
    expect(gridPage(ranks, 0, 8).ranks.map((r) => r.rank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const last = gridPage(ranks, 9, 8);
    expect([last.page, last.pages, last.first, last.last]).toEqual([2, 3, 16, 19]);
    expect(pageOf(ranks, 17, 4)).toBe(4);
    expect(gridPage([], 0, 4).pages).toBe(1);
  });

  it("labels merged lines and says what went wrong", () => {
    expect(lineLabel(3)).toBe("[rank 3]");
    expect(lineLabel(null)).toBe("[node]");
    const list = {
      ranks: [rec(0), rec(3, { straggler: true, slower_by_percent: 60 })],
      world_size: 4,
      first_failure: { rank: 2, node: "n1", error: "ValueError: boom\n  at x.py:3", ended_at: 1 },
    } as RankList;
    expect(findings(list)).toEqual(["rank 2 (node n1) failed first: ValueError: boom", "straggler: rank 3 (+60%)"]);
    expect(rankState(rec(1, { exit_code: 1 }))).toEqual({ text: "✗ exit 1", cls: "red" });
  });

  it("draws measured step times only, scaled to the slowest", () => {
    const got = stepBars([
      rec(0, { step_time_median: 1 }),
      rec(1, { step_time_median: 2, straggler: true, slower_by_percent: 60 }),
      rec(2),
    ]);
    expect(got.max).toBe(2);
    expect(got.unknown).toBe(1);
    expect(got.bars.map((b) => [b.rank, b.straggler, b.slowerBy])).toEqual([
      [0, false, null],
      [1, true, 60],
    ]);
  });
});
