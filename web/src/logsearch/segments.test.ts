import { describe, expect, it } from "vitest";
import { segments } from "./segments";

describe("segments", () => {
  it("marks each span and keeps the rest", () => {
    expect(segments("NCCL timeout: watchdog", [[0, 4], [5, 12]])).toEqual([
      { text: "NCCL", match: true },
      { text: " ", match: false },
      { text: "timeout", match: true },
      { text: ": watchdog", match: false },
    ]);
  });
  it("joins back to the text whatever the spans", () => {
    const text = "a <b>b</b> c";
    for (const spans of [[], [[0, 1]], [[2, 20]], [[5, 3]], [[1, 4], [2, 6]], [[-3, 2]]]) {
      expect(segments(text, spans).map((s) => s.text).join("")).toBe(text);
    }
  });
  it("counts code points as Python does", () => {
    expect(segments("🔥 loss nan", [[2, 6]])).toEqual([
      { text: "🔥 ", match: false },
      { text: "loss", match: true },
      { text: " nan", match: false },
    ]);
  });
});
