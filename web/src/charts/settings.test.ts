import { beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, chartSettings, parseSettings, resetChartSettingsCache, setChartSettings } from "./settings";

describe("per-chart settings", () => {
  beforeEach(() => {
    localStorage.clear();
    resetChartSettingsCache();
  });

  it("keeps one chart's log scale off the others, across a reload", () => {
    setChartSettings("train/loss", { log: true });
    resetChartSettingsCache(); // a reload
    expect(chartSettings("train/loss").log).toBe(true);
    expect(chartSettings("val/loss")).toEqual(DEFAULT_SETTINGS);
  });

  it("stores the y range, smoothing and x axis, and forgets a chart set back to the defaults", () => {
    setChartSettings("sys/cpu_percent", { yMin: 0, yMax: 100, smoothing: 0.9, x: "wall" });
    expect(chartSettings("sys/cpu_percent")).toEqual({ log: false, yMin: 0, yMax: 100, smoothing: 0.9, x: "wall" });
    setChartSettings("sys/cpu_percent", DEFAULT_SETTINGS);
    expect(localStorage.getItem("trainboard.charts")).toBe("{}");
  });

  it("reads what older or broken versions left as the defaults", () => {
    expect(parseSettings(null)).toEqual(DEFAULT_SETTINGS);
    expect(parseSettings({ log: "yes", yMin: "0", x: "hours", smoothing: 7 })).toEqual({ ...DEFAULT_SETTINGS, smoothing: 0.99 });
    // an inverted range is dropped, not drawn upside down
    expect(parseSettings({ yMin: 5, yMax: 1 })).toEqual(DEFAULT_SETTINGS);
    localStorage.setItem("trainboard.charts", "{not json");
    resetChartSettingsCache();
    expect(chartSettings("loss")).toEqual(DEFAULT_SETTINGS);
  });
});
