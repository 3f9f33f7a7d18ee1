import { describe, expect, it } from "vitest";
import { GeometryPlayer, fitRows, fitScale, normalize, sizeAt, type ReplayOp } from "./geometry";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (ops: ReplayOp[]) =>
  ops.map((op) => ("write" in op ? new TextDecoder().decode(op.write) : `<${op.resize.cols}x${op.resize.rows}>`)).join("");

describe("sizeAt", () => {
  const sizes = [
    { offset: 0, cols: 200, rows: 50 },
    { offset: 10, cols: 120, rows: 40 },
  ];
  it("is the last size recorded at or before the offset", () => {
    expect(sizeAt(sizes, 0)?.cols).toBe(200);
    expect(sizeAt(sizes, 9)?.cols).toBe(200);
    expect(sizeAt(sizes, 10)?.cols).toBe(120);
    expect(sizeAt(sizes, 1e9)?.cols).toBe(120);
  });
  it("falls back to the first size before any, and to none without sizes", () => {
    expect(sizeAt([{ offset: 5, cols: 90, rows: 30 }], 0)?.cols).toBe(90);
    expect(sizeAt([], 0)).toBeNull();
  });
});

describe("normalize", () => {
  it("sorts, keeps the last size per offset and drops repeats", () => {
    expect(
      normalize([
        { offset: 7, cols: 80, rows: 24 },
        { offset: 0, cols: 80, rows: 24 },
        { offset: 3, cols: 100, rows: 24 },
        { offset: 3, cols: 80, rows: 24 },
      ]),
    ).toEqual([{ offset: 0, cols: 80, rows: 24 }]);
  });
});

describe("GeometryPlayer", () => {
  it("only writes when nothing was recorded", () => {
    const p = new GeometryPlayer();
    expect(text(p.plan(bytes("hello"), 0))).toBe("hello");
    expect(p.recorded).toBe(false);
    expect(p.size).toBeNull();
  });

  it("resizes first, then where the recording did, cutting the bytes there", () => {
    const p = new GeometryPlayer([
      { offset: 0, cols: 200, rows: 50 },
      { offset: 5, cols: 120, rows: 40 },
      { offset: 8, cols: 80, rows: 24 },
    ]);
    expect(text(p.plan(bytes("abcdefghij"), 0))).toBe("<200x50>abcde<120x40>fgh<80x24>ij");
    expect(p.size).toEqual({ cols: 80, rows: 24 });
  });

  it("places sizes by absolute offset across chunks and never repeats a resize", () => {
    const p = new GeometryPlayer([
      { offset: 0, cols: 200, rows: 50 },
      { offset: 6, cols: 120, rows: 40 },
    ]);
    expect(text(p.plan(bytes("abc"), 0))).toBe("<200x50>abc");
    expect(text(p.plan(bytes("def"), 3))).toBe("def");
    expect(text(p.plan(bytes("ghi"), 6))).toBe("<120x40>ghi");
    expect(text(p.plan(bytes("jk"), 9))).toBe("jk");
  });

  it("starts a log read from its middle at the size in effect there", () => {
    const p = new GeometryPlayer([
      { offset: 0, cols: 200, rows: 50 },
      { offset: 100, cols: 150, rows: 40 },
    ]);
    expect(text(p.plan(bytes("xy"), 500))).toBe("<150x40>xy");
  });

  it("says when a size learnt late changes bytes already written (they must be replayed)", () => {
    const p = new GeometryPlayer([{ offset: 0, cols: 200, rows: 50 }]);
    expect(text(p.plan(bytes("abcd"), 0))).toBe("<200x50>abcd");
    expect(p.update([{ offset: 0, cols: 200, rows: 50 }])).toBe(false);
    const resized = [
      { offset: 0, cols: 200, rows: 50 },
      { offset: 2, cols: 100, rows: 30 },
    ];
    expect(p.update(resized)).toBe(true); // "cd" was drawn at 200 columns
    expect(text(p.plan(bytes("ef"), 4))).toBe("<100x30>ef");
    // a size for bytes not written yet is simply applied when they come
    expect(p.update([...resized, { offset: 9, cols: 80, rows: 24 }])).toBe(false);
    expect(text(p.plan(bytes("ghijk"), 6))).toBe("ghi<80x24>jk");
  });

  it("a first size learnt after output was fitted to the panel means a replay", () => {
    const p = new GeometryPlayer();
    expect(text(p.plan(bytes("ab"), 0))).toBe("ab");
    expect(p.update([{ offset: 0, cols: 120, rows: 40 }])).toBe(true);
    expect(new GeometryPlayer().update([{ offset: 0, cols: 120, rows: 40 }])).toBe(false);
  });
});

describe("fitScale", () => {
  it("shrinks a wide screen to the panel's width and never enlarges", () => {
    expect(fitScale(1440, 720)).toBeCloseTo(0.5);
    expect(fitScale(576, 1600)).toBe(1);
    expect(fitScale(0, 100)).toBe(1);
  });
});

describe("fitRows", () => {
  it("keeps the recorded rows when they fit, else shows as many as fit", () => {
    expect(fitRows(50, 13, 1000)).toBe(50);
    expect(fitRows(50, 13, 280)).toBe(21);
    expect(fitRows(50, 13, 20)).toBe(5);
    expect(fitRows(3, 13, 20)).toBe(3);
    expect(fitRows(50, 13, 0)).toBe(50);
  });
});
