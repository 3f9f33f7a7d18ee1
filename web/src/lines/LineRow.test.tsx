import { render, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { LineRow, type RowActions } from "./LineRow";
import { loadHighlighter } from "./codeHighlight";
import type { AnyLine } from "./structured";

const actions: RowActions = { onCopyLink: vi.fn(), onBookmark: vi.fn(), onToggleFold: vi.fn(), onToggleFields: vi.fn() };
const line = (over: Partial<AnyLine>): AnyLine => ({
  line_number: 3,
  timestamp: 1.7e9,
  source: "stdout",
  level: "INFO",
  message: "",
  display: "",
  provisional: false,
  ...over,
});
const row = (l: AnyLine, extra: Partial<Parameters<typeof LineRow>[0]> = {}) =>
  render(<LineRow runId="r" line={l} re={null} provisional={false} trace={null} expanded={false} actions={actions} {...extra} />);

describe("a LINES row", () => {
  it("renders markup in a line as text, plain or highlighted as code", async () => {
    const evil = '<img src=x onerror="window.pwned=1">';
    const plain = row(line({ message: `oops ${evil}`, display: `oops ${evil}` }));
    expect(plain.container.querySelector("img")).toBeNull();
    expect(plain.container.textContent).toContain(evil);
    await loadHighlighter();
    const code = row(line({ message: `{'a': "${evil}"}` }));
    await waitFor(() => expect(code.container.querySelector("[data-code]")).not.toBeNull());
    expect(code.container.querySelector("img")).toBeNull();
    expect([...code.container.querySelectorAll(".hljs-string")].map((e) => e.textContent).join(" ")).toContain("<img");
    const tb = row(line({ message: `    x = "${evil}"` }), { trace: { kind: "code", library: false } });
    expect(tb.container.querySelector("img")).toBeNull();
    expect(tb.container.textContent).toContain(evil);
  });
  it("shows a structured line as level, logger, message and chips, the field table when expanded", () => {
    const fields = { event: "epoch done", logger: "train", step: 5, "<b>": "<i>x</i>" };
    const l = line({ message: JSON.stringify(fields), fields, level: "PROGRESS", level_no: 25 });
    const r = row(l, { expanded: true });
    expect(r.container.querySelector(".logger")?.textContent).toBe("train");
    expect(r.container.querySelector(".msg")?.textContent).toBe("epoch done");
    expect([...r.container.querySelectorAll(".chip.field")].map((c) => c.textContent)).toEqual(["step=5", "<b>=<i>x</i>"]);
    expect(r.container.textContent).not.toContain('{"event"');
    expect(r.container.querySelectorAll("[data-testid=fields-table] tr")).toHaveLength(4);
    expect(r.container.querySelector("i")).toBeNull();
  });
  it("emphasises the exception line and labels a fold of library frames", () => {
    const ex = row(line({ message: "ValueError: bad" }), { trace: { kind: "exception" } });
    expect(ex.container.querySelector(".tb-exception")?.textContent).toBe("ValueError: bad");
    const folded = row(line({ message: '  File "/usr/lib/python3.11/x.py", line 1, in f' }), {
      trace: { kind: "frame", library: true },
      fold: { fold: { start: 0, end: 3, frames: 2 }, at: 3, open: false },
    });
    expect(folded.getByTestId("library-frames").textContent).toBe("▸ 2 library frames");
    expect(folded.container.textContent).not.toContain("/usr/lib");
  });
});

describe("highlight.js output read back as tokens", () => {
  it("keeps highlight.js's classes and decodes its escaping; other markup stays text", async () => {
    const { codeTokens } = await import("./codeHighlight");
    expect(codeTokens('<span class="hljs-string">&quot;&lt;b&gt;&quot;</span> &amp; x')).toEqual([
      { text: '"<b>"', className: "hljs-string" },
      { text: " & x", className: null },
    ]);
    expect(codeTokens("<img src=x>")).toEqual([{ text: "<img src=x>", className: null }]);
  });
});
