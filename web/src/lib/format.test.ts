import { describe, expect, it } from "vitest";
import { fmtSystemValue } from "./format";

describe("fmtSystemValue", () => {
  it("shows each system metric in its unit", () => {
    expect(fmtSystemValue("sys/disk_read_bytes_per_s", 2 * 1024 * 1024)).toBe("2.0MB/s");
    expect(fmtSystemValue("sys/proc_rss", 512 * 1024 * 1024)).toBe("512.0MB");
    expect(fmtSystemValue("sys/gpu0/memory_used", 1024)).toBe("1.0KB");
    expect(fmtSystemValue("sys/cpu_percent", 34.256)).toBe("34.3%");
    expect(fmtSystemValue("sys/gpu0/utilization", 100)).toBe("100.0%");
    expect(fmtSystemValue("sys/gpu0/power_watts", 701.2)).toBe("701 W");
    expect(fmtSystemValue("sys/gpu0/temperature_c", 56)).toBe("56 °C");
    expect(fmtSystemValue("sys/other", 1 / 3)).toBe("0.3333");
    expect(fmtSystemValue("sys/cpu_percent", "NaN")).toBe("NaN");
  });
});
