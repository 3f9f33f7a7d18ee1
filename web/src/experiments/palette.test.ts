import { act, renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { chartColors, colorAt, runColorsOf, useScheme } from "./palette";

afterEach(() => {
  delete document.documentElement.dataset.theme;
});

describe("palette", () => {
  it("gives darker run colours on light backgrounds and cycles them", () => {
    expect(runColorsOf("light")).not.toEqual(runColorsOf("dark"));
    const n = runColorsOf("dark").length;
    expect(colorAt("dark", n)).toBe(colorAt("dark", 0));
    expect(chartColors("light").grid).not.toBe(chartColors("dark").grid);
  });
  it("follows the page's data-theme as it changes", async () => {
    document.documentElement.dataset.theme = "dark";
    const { result } = renderHook(() => useScheme());
    expect(result.current).toBe("dark");
    await act(async () => {
      document.documentElement.dataset.theme = "light";
      await new Promise((r) => setTimeout(r, 0)); // MutationObserver callbacks run as microtasks
    });
    expect(result.current).toBe("light");
  });
});
