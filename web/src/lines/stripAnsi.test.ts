import { describe, expect, it } from "vitest";
import { stripAnsi } from "./LinesView";

describe("stripAnsi", () => {
  it("removes colour and cursor sequences and keeps the text", () => {
    expect(stripAnsi("\x1b[1;32mTRAINING START\x1b[0m model")).toBe("TRAINING START model");
    expect(stripAnsi("\x1b[2K\x1b[Aepoch 1")).toBe("epoch 1");
    expect(stripAnsi("\x1b]0;title\x07after")).toBe("after");
    expect(stripAnsi("<img src=x>")).toBe("<img src=x>");
  });
});
