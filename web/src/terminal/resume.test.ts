import { describe, expect, it } from "vitest";
import { LogCursor, firstLineStart, historyStart } from "./resume";

const b = (s: string) => new TextEncoder().encode(s);
const s = (u: Uint8Array) => new TextDecoder().decode(u);

describe("historyStart", () => {
  it("loads a small log whole and a large one from the end", () => {
    expect(historyStart(100, 1000)).toBe(0);
    expect(historyStart(5000, 1000)).toBe(4000);
  });
});

describe("firstLineStart", () => {
  it("keeps everything at offset 0 and drops the partial first line mid-log", () => {
    expect(firstLineStart(b("abc\ndef"), 0)).toBe(0);
    expect(firstLineStart(b("bc\ndef"), 10)).toBe(3);
    expect(firstLineStart(b("no newline"), 10)).toBe(0);
  });
});

describe("LogCursor", () => {
  it("writes history then a stream that overlaps it exactly once", () => {
    const c = new LogCursor();
    const out: string[] = [];
    out.push(s(c.accept(b("hello\nwor"), 0).write));
    expect(c.offset).toBe(9);
    // the stream (started from an older offset) replays "wor" then continues
    out.push(s(c.acceptEvent(b("world\n"), 12).write));
    expect(out.join("")).toBe("hello\nworld\n");
    expect(c.offset).toBe(12);
  });

  it("drops a replayed chunk after a reconnect", () => {
    const c = new LogCursor();
    c.acceptEvent(b("a\n"), 2);
    c.acceptEvent(b("b\n"), 4);
    // reconnect with Last-Event-ID 2 replays "b\n"
    expect(c.acceptEvent(b("b\n"), 4).write.length).toBe(0);
    expect(s(c.acceptEvent(b("c\n"), 6).write)).toBe("c\n");
    expect(c.offset).toBe(6);
  });

  it("reports a gap instead of writing out of order", () => {
    const c = new LogCursor();
    c.accept(b("abc"), 0);
    const r = c.acceptEvent(b("xyz"), 10);
    expect(r.gap).toBe(4);
    expect(r.write.length).toBe(0);
    expect(c.offset).toBe(3);
  });

  it("resumes from the byte after the last one written after navigating away and back", () => {
    const first = new LogCursor();
    first.accept(b("0123456789"), 0);
    const resumeAt = first.offset;
    const again = new LogCursor(resumeAt);
    expect(s(again.acceptEvent(b("89ab"), 12).write)).toBe("ab");
  });

  it("accepts an event without an id at the cursor", () => {
    const c = new LogCursor(5);
    expect(s(c.acceptEvent(b("xy"), NaN).write)).toBe("xy");
    expect(c.offset).toBe(7);
  });

  it("skipTo moves forward only", () => {
    const c = new LogCursor(10);
    c.skipTo(5);
    expect(c.offset).toBe(10);
    c.skipTo(20);
    expect(c.offset).toBe(20);
  });
});
