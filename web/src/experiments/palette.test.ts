import { act, renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { setThemeChoice } from "../lib/theme";
import { chartColors, colorAt, dashAt, runColorsOf, shade, useScheme } from "./palette";

afterEach(() => {
  delete document.documentElement.dataset.theme;
});

describe("palette", () => {
  it("gives darker run colours on light backgrounds", () => {
    expect(runColorsOf("light")).not.toEqual(runColorsOf("dark"));
    expect(colorAt("dark", 0)).toBe(runColorsOf("dark")[0]);
    expect(chartColors("light").grid).not.toBe(chartColors("dark").grid);
  });
  it("keeps 32 runs distinct past the categorical colours", () => {
    for (const s of ["dark", "light"] as const) {
      const colors = Array.from({ length: 32 }, (_, i) => colorAt(s, i));
      expect(new Set(colors).size).toBe(32);
      for (const c of colors) expect(c).toMatch(/^#[0-9a-f]{6}$/i);
      const n = runColorsOf(s).length;
      expect(dashAt(s, 0)).toBeUndefined();
      expect(dashAt(s, n)).toBeDefined();
      expect(dashAt(s, 2 * n)).not.toEqual(dashAt(s, n));
    }
  });
  it("shades toward white or black", () => {
    expect(shade("#808080", 1)).toBe("#ffffff");
    expect(shade("#808080", -1)).toBe("#000000");
    expect(shade("#102030", 0)).toBe("#102030");
  });
  it("follows the theme choice as it changes (one scheme for the whole page)", async () => {
    setThemeChoice("dark");
    const { result } = renderHook(() => useScheme());
    expect(result.current).toBe("dark");
    act(() => setThemeChoice("light"));
    expect(result.current).toBe("light");
    expect(document.documentElement.dataset.theme).toBe("light");
    act(() => setThemeChoice("dark"));
  });
});
