import { describe, expect, it } from "vitest";
import { matcher, splitMatches } from "./highlight";

describe("search highlighting", () => {
  it("marks every case-insensitive match of a substring, special characters literal", () => {
    expect(splitMatches("Loss 0.5 loss", matcher("loss", false))).toEqual([
      { text: "Loss", match: true },
      { text: " 0.5 ", match: false },
      { text: "loss", match: true },
    ]);
    expect(splitMatches("a.b axb", matcher("a.b", false))).toEqual([
      { text: "a.b", match: true },
      { text: " axb", match: false },
    ]);
  });
  it("marks regular expression matches", () => {
    expect(splitMatches("step 12 of 40", matcher("\\d+", true)).filter((p) => p.match).map((p) => p.text)).toEqual(["12", "40"]);
  });
  it("leaves the line whole without a usable pattern", () => {
    expect(matcher("", false)).toBeNull();
    expect(matcher("(", true)).toBeNull();
    expect(matcher("x*", true)).toBeNull();
    expect(splitMatches("abc", null)).toEqual([{ text: "abc", match: false }]);
    expect(splitMatches("abc", matcher("zz", false))).toEqual([{ text: "abc", match: false }]);
  });
});
