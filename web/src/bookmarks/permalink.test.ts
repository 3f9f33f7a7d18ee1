import { describe, expect, it } from "vitest";
import { parsePlace, permalinkPath, permalinkUrl, stepAt } from "./permalink";

describe("permalinks", () => {
  it("reads line, offset or time from the query; malformed is no place", () => {
    expect(parsePlace(new URLSearchParams("line=40000"))).toEqual({ line: 40000 });
    expect(parsePlace(new URLSearchParams("offset=123&x=1"))).toEqual({ offset: 123 });
    expect(parsePlace(new URLSearchParams("t=1700000000.25"))).toEqual({ t: 1700000000.25 });
    expect(parsePlace(new URLSearchParams("line=-1"))).toBeNull();
    expect(parsePlace(new URLSearchParams("line=1e3"))).toBeNull();
    expect(parsePlace(new URLSearchParams("t=<script>"))).toBeNull();
    expect(parsePlace(new URLSearchParams(""))).toBeNull();
  });
  it("writes stable URLs, the run id escaped", () => {
    expect(permalinkPath("run-a", { line: 7 })).toBe("/runs/run-a?line=7");
    expect(permalinkPath("a b", { t: 1.5 })).toBe("/runs/a%20b?t=1.500");
    expect(permalinkUrl("r", { offset: 9 }, "http://h:1")).toBe("http://h:1/runs/r?offset=9");
  });
  it("finds the step logged at or before a moment", () => {
    expect(stepAt([0, 10, 20], [100, 110, 120], 115)).toEqual({ step: 10, since: 100 });
    expect(stepAt([0, 10], [100, 110], 100)).toEqual({ step: 0, since: null });
    expect(stepAt([0], [100], 99)).toBeNull();
  });
});
