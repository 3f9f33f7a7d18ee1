import { describe, expect, it } from "vitest";
import { ANSI_COLORS, ansiSegments } from "./ansi";

describe("ansiSegments", () => {
  it("colours text and resets", () => {
    expect(ansiSegments("\x1b[32mok\x1b[0m done")).toEqual([{ text: "ok", fg: ANSI_COLORS[2] }, { text: " done" }]);
  });
  it("handles bold, bright, 256 and true colours", () => {
    const s = ansiSegments("\x1b[1;91mA\x1b[22;38;5;196mB\x1b[38;2;1;2;3mC\x1b[39mD");
    expect(s).toEqual([
      { text: "A", fg: ANSI_COLORS[9], bold: true },
      { text: "B", fg: "rgb(255,0,0)" },
      { text: "C", fg: "rgb(1,2,3)" },
      { text: "D" },
    ]);
  });
  it("drops other escape sequences and keeps markup as text", () => {
    expect(ansiSegments("\x1b[2K\x1b]0;t\x07<b>x</b>")).toEqual([{ text: "<b>x</b>" }]);
  });
});
