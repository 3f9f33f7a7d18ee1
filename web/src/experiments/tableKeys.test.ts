import { describe, expect, it } from "vitest";
import { tableAction } from "./tableKeys";

const key = (k: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean }> = {}) =>
  tableAction({ key: k, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe("tableAction", () => {
  it("moves the cursor within the rows", () => {
    const down = key("j");
    const up = key("ArrowUp");
    expect(down?.kind === "move" && down.to(-1, 10)).toBe(0); // from nothing to the first row
    expect(down?.kind === "move" && down.to(9, 10)).toBe(9);
    expect(up?.kind === "move" && up.to(0, 10)).toBe(0);
    const end = key("End");
    expect(end?.kind === "move" && end.to(3, 10)).toBe(9);
    const pg = key("PageDown");
    expect(pg?.kind === "move" && pg.to(0, 10)).toBe(9);
  });
  it("maps selection, compare and open", () => {
    expect(key(" ")?.kind).toBe("toggle");
    expect(key("x")?.kind).toBe("toggle");
    expect(key("a")?.kind).toBe("toggleAll");
    expect(key("c")?.kind).toBe("compare");
    expect(key("Enter")?.kind).toBe("open");
    expect(key("Escape")?.kind).toBe("clear");
  });
  it("leaves modified keys and unknown keys alone", () => {
    expect(key("c", { ctrlKey: true })).toBeNull();
    expect(key("a", { metaKey: true })).toBeNull();
    expect(key("q")).toBeNull();
  });
});
