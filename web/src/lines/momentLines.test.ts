import { describe, expect, it } from "vitest";
import { rowsBetween } from "./momentLines";

describe("rowsBetween", () => {
  it("is the lines printed during the step", () => {
    expect(rowsBetween(10, 13)).toEqual({ first: 10, last: 12, exact: true });
  });
  it("falls back to the last line before when the step printed nothing", () => {
    expect(rowsBetween(13, 13)).toEqual({ first: 12, last: 12, exact: false });
  });
  it("is nothing before the first line", () => {
    expect(rowsBetween(0, 0)).toBeNull();
  });
});
