import { describe, expect, it } from "vitest";
import { nearestIndex } from "./moment";
import { replayRange } from "./replay";

describe("replayRange", () => {
  const at = { time: 1, chunk_time: 1, log_size: 10_000 };
  it("replays from the start up to the offset", () => {
    expect(replayRange({ ...at, offset: 500, log_start: 0 })).toEqual({ start: 0, end: 500 });
  });
  it("skips what retention trimmed, and what lies beyond the replay budget", () => {
    expect(replayRange({ ...at, offset: 500, log_start: 100 })).toEqual({ start: 100, end: 500 });
    expect(replayRange({ ...at, offset: 9000, log_start: 0 }, 1000)).toEqual({ start: 8000, end: 9000 });
    expect(replayRange({ ...at, offset: 0, log_start: 300 })).toEqual({ start: 300, end: 300 });
  });
});

describe("nearestIndex", () => {
  it("finds the closest point to a click", () => {
    expect(nearestIndex([0, 10, 20], 4)).toBe(0);
    expect(nearestIndex([0, 10, 20], 6)).toBe(1);
    expect(nearestIndex([0, 10, 20], 99)).toBe(2);
    expect(nearestIndex([0, 10, 20], -5)).toBe(0);
    expect(nearestIndex([], 3)).toBe(-1);
    expect(nearestIndex([1], NaN)).toBe(-1);
  });
});
