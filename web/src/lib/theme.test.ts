import { describe, expect, it } from "vitest";
import { colorDistance, oklch, palette, runColor, runDash } from "./theme";

function minDistance(colors: string[]): number {
  let min = Infinity;
  for (let i = 0; i < colors.length; i++)
    for (let j = i + 1; j < colors.length; j++) min = Math.min(min, colorDistance(colors[i] as string, colors[j] as string));
  return min;
}

const BG = { dark: "#000000", light: "#ffffff" } as const;

describe("run colours", () => {
  for (const scheme of ["dark", "light"] as const) {
    it(`keeps 260 runs distinguishable on the ${scheme} scheme`, () => {
      const colors = Array.from({ length: 260 }, (_, i) => runColor(scheme, i));
      expect(colors.slice(0, 10)).toEqual([...palette(scheme).runColors]);
      for (const c of colors) expect(c).toMatch(/^#[0-9a-f]{6}$/i);
      expect(new Set(colors.map((c) => c.toLowerCase())).size).toBe(260);
      // the first 110 (a 100-run comparison and more) clearly apart: ~0.02 in OKLab is just noticeable
      expect(minDistance(colors.slice(0, 110))).toBeGreaterThan(0.035);
      expect(minDistance(colors)).toBeGreaterThan(0.015);
      // and every one readable on the background
      for (const c of colors) expect(colorDistance(c, BG[scheme])).toBeGreaterThan(0.35);
    });
  }

  it("gives the same colour to the same index every time, and different ones per scheme", () => {
    expect(runColor("dark", 57)).toBe(runColor("dark", 57));
    expect(runColor("dark", 57)).not.toBe(runColor("light", 57));
  });

  it("adds a dash per round of ten as a second cue", () => {
    expect(runDash("dark", 0)).toBeUndefined();
    expect(runDash("dark", 9)).toBeUndefined();
    expect(runDash("dark", 10)).toBeDefined();
    expect(runDash("dark", 20)).not.toEqual(runDash("dark", 10));
  });

  it("clamps OKLCH colours into sRGB", () => {
    expect(oklch(0, 0, 0)).toBe("#000000");
    expect(oklch(1, 0, 0)).toBe("#ffffff");
    expect(oklch(0.9, 0.4, 140)).toMatch(/^#[0-9a-f]{6}$/);
  });
});
