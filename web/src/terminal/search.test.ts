import { describe, expect, it } from "vitest";
import { searchStatus } from "./search";

describe("searchStatus", () => {
  it("says n of m", () => {
    expect(searchStatus("loss", { resultIndex: 2, resultCount: 12 })).toBe("3 of 12");
    expect(searchStatus("loss", { resultIndex: -1, resultCount: 4 })).toBe("4 matches");
    expect(searchStatus("loss", { resultIndex: 0, resultCount: 0 })).toBe("no matches");
    expect(searchStatus("x", { resultIndex: 5, resultCount: 1000 })).toBe("6 of 1000+");
  });
  it("is silent without a search", () => {
    expect(searchStatus("", { resultIndex: 0, resultCount: 3 })).toBe("");
    expect(searchStatus("a", null)).toBe("");
  });
});
