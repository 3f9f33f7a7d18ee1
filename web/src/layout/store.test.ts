import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EMPTY_LAYOUT, MIN_LOG, MIN_MAIN, clampLayout, loadLayout, parseLayout, resetLayoutOf, saveLayout, sizeBounds, toggled } from "./store";

describe("layout store", () => {
  beforeEach(() => {
    localStorage.clear();
    vi.stubGlobal("fetch", vi.fn(async () => new Response("{}", { status: 404 })));
  });
  afterEach(() => vi.unstubAllGlobals());

  it("reads what older or broken versions left as the default", () => {
    expect(parseLayout(null)).toEqual(EMPTY_LAYOUT);
    expect(parseLayout("{not json")).toEqual(EMPTY_LAYOUT);
    expect(parseLayout('{"collapsed": "log", "sizes": {"metrics": "big", "side": -3, "ok": 400}, "pinned": [1, "loss"]}')).toEqual({
      collapsed: [],
      sizes: { ok: 400 },
      pinned: ["loss"],
      foldedSections: [],
    });
  });

  it("saves per project and survives a reload of the storage", () => {
    saveLayout("a", { ...EMPTY_LAYOUT, collapsed: ["p-events"], pinned: ["val/loss"] });
    expect(loadLayout("b")).toEqual(EMPTY_LAYOUT);
    expect(parseLayout(localStorage.getItem("trainboard.layout.a"))).toEqual({
      ...EMPTY_LAYOUT,
      collapsed: ["p-events"],
      pinned: ["val/loss"],
    });
  });

  it("toggles list members", () => {
    expect(toggled(["a"], "b")).toEqual(["a", "b"]);
    expect(toggled(["a", "b"], "a")).toEqual(["b"]);
  });
});

describe("layout on the server", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("takes the server's layout and saves changes back, keeping other pages' keys", async () => {
    const calls: { url: string; method: string; body: unknown }[] = [];
    const saved = { other_page: { x: 1 }, run_page: { collapsed: ["p-events"], pinned: ["val/acc"] } };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        if (!url.includes("/srv/")) return new Response("{}", { status: 404 });
        calls.push({ url, method: init?.method ?? "GET", body: init?.body ? JSON.parse(String(init.body)) : null });
        return new Response(JSON.stringify({ layout: saved, updated_at: 1 }), { status: 200 });
      }),
    );
    expect(loadLayout("srv")).toEqual(EMPTY_LAYOUT); // painted from the local copy first
    await vi.waitFor(() => expect(loadLayout("srv").collapsed).toEqual(["p-events"]));
    saveLayout("srv", { ...loadLayout("srv"), pinned: [] });
    await vi.waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true));
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ layout: { other_page: { x: 1 }, run_page: { ...EMPTY_LAYOUT, collapsed: ["p-events"] } } });
  });
});

describe("layout bounds", () => {
  it("clamps a saved layout so no panel is pushed off a smaller screen", () => {
    const saved = { ...EMPTY_LAYOUT, sizes: { side: 1400, info: 5, metrics: 3000, other: 7 } };
    const l = clampLayout(saved, { width: 1440, height: 900 });
    expect(l.sizes.side).toBeLessThanOrEqual((1440 - MIN_MAIN) / 2);
    expect(l.sizes.info).toBe(260);
    // the log keeps at least MIN_LOG px under the charts
    expect((l.sizes.metrics as number) + MIN_LOG).toBeLessThanOrEqual(900);
    expect(l.sizes.other).toBe(7);
    // the side columns together leave the charts their room
    expect(1440 - (l.sizes.side as number) - (l.sizes.info as number)).toBeGreaterThanOrEqual(MIN_MAIN);
  });

  it("keeps a layout that fits as it is", () => {
    const ok = { ...EMPTY_LAYOUT, sizes: { side: 300, metrics: 500 } };
    expect(clampLayout(ok, { width: 1920, height: 1080 })).toBe(ok);
    expect(sizeBounds("nope", { width: 1920, height: 1080 })).toBeNull();
  });

  it("resets sizes and folds, keeping the pinned charts", () => {
    const l = { collapsed: ["p-log"], sizes: { side: 500 }, pinned: ["val/loss"], foldedSections: ["sys"] };
    expect(resetLayoutOf(l)).toEqual({ ...EMPTY_LAYOUT, pinned: ["val/loss"] });
  });
});
