import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchJson, matches } from "./api";

describe("panel plugin api", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("matches key patterns as the server's fnmatchcase does", () => {
    expect(matches("*confusion*", "eval/confusion")).toBe(true);
    expect(matches("eval/?oss", "eval/loss")).toBe(true);
    expect(matches("eval/*", "train/loss")).toBe(false);
    expect(matches("a.b", "axb")).toBe(false); // a dot is a dot, not a regex wildcard
    expect(matches("Loss", "loss")).toBe(false);
  });

  it("lets a panel fetch this server's API only", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ ok: 1 }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await expect(fetchJson("/api/runs")).resolves.toEqual({ ok: 1 });
    for (const bad of ["https://evil.example/api/x", "//evil.example/api", "/api/../logout", "/health", "api/runs"]) {
      await expect(fetchJson(bad)).rejects.toThrow("a panel may only fetch /api/ paths");
    }
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });
});
