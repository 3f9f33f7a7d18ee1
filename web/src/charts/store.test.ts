import { afterEach, describe, expect, it, vi } from "vitest";
import type { WsMessage } from "../api/types";

const listeners = new Map<string, (m: WsMessage) => void>();
vi.mock("../api/live", () => ({
  live: {
    subscribe: (runId: string, l: (m: WsMessage) => void) => {
      listeners.set(runId, l);
      return () => listeners.delete(runId);
    },
    onState: () => () => undefined,
    getState: () => "open",
  },
}));

const { RunMetrics } = await import("./store");

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("RunMetrics", () => {
  it("loads each key, skips sys/ keys, and keeps live updates that arrive while loading", async () => {
    const urls: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        urls.push(url);
        if (url.endsWith("/metrics/latest"))
          return json({ metrics: { loss: { step: 2, value: 0.5, timestamp: 1 }, "sys/cpu_percent": { step: 2, value: 9, timestamp: 1 } } });
        await gate;
        if (url.includes("keys=sys"))
          return json({ run_id: "r", metrics: { "sys/cpu_percent": { count: 1, step: [2], value: [9], timestamp: [1] } } });
        return json({ run_id: "r", metrics: { loss: { count: 3, step: [0, 1, 2], value: [1, "NaN", 0.5], timestamp: [1, 2, 3] } } });
      }),
    );
    const m = new RunMetrics("r");
    m.acquire();
    await vi.waitFor(() => expect(urls.some((u) => u.includes("keys=loss"))).toBe(true));
    // a live update while the history is in flight
    listeners.get("r")?.({ type: "metric_update", run_id: "r", step: 3, metrics: { loss: 0.25 } });
    release();
    await vi.waitFor(() => expect(m.loading).toBe(false));
    await vi.waitFor(() => expect(m.series.get("loss")?.step).toEqual([0, 1, 2, 3]));
    // system metrics are charted too, fetched after the training metrics
    await vi.waitFor(() => expect(m.keys()).toEqual(["loss", "sys/cpu_percent"]));
    const history = urls.filter((u) => !u.endsWith("/latest"));
    expect(history[0]).toContain("keys=loss");
    expect(history[1]).toContain("keys=sys");
    const p = m.series.get("loss");
    expect(Number.isNaN(p?.value[1])).toBe(true);
    expect(p?.value[3]).toBe(0.25);
    m.release();
    expect(listeners.has("r")).toBe(false);
  });

  it("keeps which keys were read from printed text, with their printed digits", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.endsWith("/metrics/latest"))
          return json({ metrics: { loss: { step: 5, value: 0.69, timestamp: 1 }, lr: { step: 5, value: 0.1, timestamp: 1 } } });
        const parsed = url.includes("keys=loss") ? { source: "printed_text", significant_digits: 4 } : null;
        const key = url.includes("keys=loss") ? "loss" : "lr";
        return json({ run_id: "r", metrics: { [key]: { count: 1, step: [5], value: [0.69], timestamp: [1], downsampled: false, parsed } } });
      }),
    );
    const m = new RunMetrics("r");
    m.acquire();
    await vi.waitFor(() => expect(m.keys()).toEqual(["loss", "lr"]));
    await vi.waitFor(() => expect(m.series.get("lr")?.step).toEqual([5]));
    expect(m.parsed.get("loss")).toBe(4);
    expect(m.parsed.has("lr")).toBe(false); // logged through the SDK: exact
    m.release();
  });
});
