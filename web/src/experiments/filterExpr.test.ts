import { describe, expect, it } from "vitest";
import { metricColumn } from "./columns";
import {
  appendClause,
  applyCompletion,
  completions,
  equalsClause,
  errorPosition,
  filterKey,
  filterLiteral,
  removeClause,
  wordAt,
} from "./filterExpr";
import { readTableState, writeTableState } from "./useTableState";

describe("filter helpers", () => {
  it("finds the position a 422 detail names", () => {
    expect(errorPosition("filter: unexpected 'and' at position 12")).toBe(12);
    expect(errorPosition("col 3: expected a value")).toBe(3);
    expect(errorPosition("no number here")).toBeNull();
  });
  it("quotes text and leaves numbers bare", () => {
    expect(filterLiteral(1e-3)).toBe("0.001");
    expect(filterLiteral('say "hi"')).toBe('"say \\"hi\\""');
    expect(filterLiteral(true)).toBe("true");
  });
  it("builds clauses for columns", () => {
    expect(filterKey("config.lr")).toBe("config.lr");
    expect(filterKey(metricColumn("val/loss", "min"))).toBe("val/loss.min");
    expect(filterKey("tags")).toBeNull();
    expect(equalsClause("status", "failed")).toBe('status = "failed"');
  });
  it("appends with and, parenthesising an or", () => {
    expect(appendClause("", "a = 1")).toBe("a = 1");
    expect(appendClause("b = 2", "a = 1")).toBe("b = 2 and a = 1");
    expect(appendClause("b = 2 or c = 3", "a = 1")).toBe("(b = 2 or c = 3) and a = 1");
  });
  it("finds the word at the caret", () => {
    expect(wordAt("config.lr < 1 and val/lo", 24)).toEqual({ word: "val/lo", start: 18 });
  });
});

describe("table state in the address bar", () => {
  it("round-trips columns holding commas, slashes and colons", () => {
    const s = { project: "p", filter: "config.lr < 1e-3", sort: "-val/loss", columns: ["name", "config.a,b", "metric:min:val/loss"] };
    expect(readTableState(writeTableState(s))).toEqual(s);
    expect(readTableState(new URLSearchParams()).columns).toBeNull();
  });
});

describe("key completion", () => {
  const keys = ["config.lr", "config.model.depth", "val/loss", "val/acc", "train/loss", "status"];
  it("offers prefix matches first, then substrings", () => {
    expect(completions("val", keys)).toEqual(["val/loss", "val/acc"]);
    expect(completions("loss", keys)).toEqual(["val/loss", "train/loss"]);
    expect(completions("dep", keys)).toEqual(["config.model.depth"]);
  });
  it("offers nothing for an empty word or a complete key", () => {
    expect(completions("", keys)).toEqual([]);
    expect(completions("status", keys)).toEqual([]);
  });
  it("replaces the word at the caret", () => {
    const text = "config.lr < 1 and val";
    const { word, start } = wordAt(text, text.length);
    expect(word).toBe("val");
    expect(applyCompletion(text, start, text.length, "val/loss")).toEqual({ text: "config.lr < 1 and val/loss", caret: 26 });
  });
});

describe("removeClause", () => {
  it("undoes appendClause", () => {
    for (const f of ["", "b = 2", "b = 2 or c = 3"]) expect(removeClause(appendClause(f, "archived = true"), "archived = true")).toBe(f);
    expect(removeClause("archived = true and b = 1", "archived = true")).toBe("archived = true and b = 1");
  });
});
