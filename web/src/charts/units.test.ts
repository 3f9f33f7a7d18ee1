import { describe, expect, it } from "vitest";
import { sectionOf, sectionOrder, unitOf } from "./units";

describe("units", () => {
  it("knows the system sampler's keys", () => {
    expect(unitOf("sys/gpu0/utilization")?.suffix).toBe("%");
    expect(unitOf("sys/cpu_percent")?.suffix).toBe("%");
    expect(unitOf("sys/gpu1/memory_used")).toEqual({ suffix: "GB", scale: 1 / 1024 ** 3 });
    expect(unitOf("sys/gpu0/power_watts")?.suffix).toBe("W");
    expect(unitOf("sys/gpu0/temperature_c")?.suffix).toBe("°C");
    expect(unitOf("sys/net_recv_bytes_per_s")?.suffix).toBe("MB/s");
  });
  it("leaves plain metrics alone", () => {
    expect(unitOf("train/loss")).toBeNull();
    expect(unitOf("lr")).toBeNull();
  });
});

describe("sections", () => {
  it("groups by prefix, per GPU for system metrics", () => {
    expect(sectionOf("train/loss")).toBe("train");
    expect(sectionOf("loss")).toBe("other");
    expect(sectionOf("sys/gpu3/utilization")).toBe("sys/gpu3");
    expect(sectionOf("sys/cpu_percent")).toBe("sys");
  });
  it("orders train, val, the rest, then system", () => {
    expect(["sys/gpu1", "other", "zeta", "val", "sys", "train", "sys/gpu0"].sort(sectionOrder)).toEqual([
      "train",
      "val",
      "zeta",
      "other",
      "sys",
      "sys/gpu0",
      "sys/gpu1",
    ]);
  });
});
