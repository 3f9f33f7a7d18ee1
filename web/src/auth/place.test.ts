import { describe, expect, it, vi } from "vitest";
import { loginErrorText, loginPath, safeNext, scopesFor, takeLoginCode, tokenState } from "./place";

describe("safeNext", () => {
  it("keeps a path on this site", () => {
    expect(safeNext("/runs/abc?x=1")).toBe("/runs/abc?x=1");
    expect(safeNext("/tokens")).toBe("/tokens");
  });
  it("refuses anything that could leave the site or loop", () => {
    for (const bad of [null, undefined, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "runs/x",
      "/login", "/login?next=/x", "/runs/\nx", "javascript:alert(1)"]) {
      expect(safeNext(bad)).toBe("/");
    }
  });
});

describe("loginPath", () => {
  it("keeps the place in ?next=", () => {
    expect(loginPath("/runs/a b")).toBe("/login?next=%2Fruns%2Fa%20b");
    const next = new URLSearchParams(loginPath("/runs/x?compare=1&y=2").split("?")[1]).get("next");
    expect(next).toBe("/runs/x?compare=1&y=2");
  });
  it("is plain /login for the start page or a bad place", () => {
    expect(loginPath("/")).toBe("/login");
    expect(loginPath("//evil.example")).toBe("/login");
  });
});

describe("takeLoginCode", () => {
  const history = () => ({ state: { k: 1 }, replaceState: vi.fn() });

  it("returns the code and removes it from the address, keeping the rest", () => {
    const h = history();
    const code = takeLoginCode({ pathname: "/login", search: "?code=s3cr3t&next=%2Fruns%2Fa", hash: "#h" }, h);
    expect(code).toBe("s3cr3t");
    expect(h.replaceState).toHaveBeenCalledTimes(1);
    const url = h.replaceState.mock.calls[0]?.[2] as string;
    expect(url).toBe("/login?next=%2Fruns%2Fa#h");
    expect(url).not.toContain("s3cr3t");
    expect(h.replaceState.mock.calls[0]?.[0]).toEqual({ k: 1 });
  });

  it("leaves an address without a code alone", () => {
    const h = history();
    expect(takeLoginCode({ pathname: "/login", search: "?next=%2F", hash: "" }, h)).toBeNull();
    expect(takeLoginCode({ pathname: "/runs/x", search: "?code=abc", hash: "" }, h)).toBeNull();
    expect(h.replaceState).not.toHaveBeenCalled();
  });

  it("removes an empty code too, and returns nothing to exchange", () => {
    const h = history();
    expect(takeLoginCode({ pathname: "/login", search: "?code=", hash: "" }, h)).toBeNull();
    expect(h.replaceState.mock.calls[0]?.[2]).toBe("/login");
  });
});

describe("scopesFor", () => {
  it("never offers more than the role", () => {
    expect(scopesFor("viewer")).toEqual(["read"]);
    expect(scopesFor("editor")).toEqual(["read", "write"]);
    expect(scopesFor("admin")).toEqual(["read", "write", "admin", "launch"]);
    // launch: only for an editor an admin granted it, never a viewer
    expect(scopesFor("editor", true)).toEqual(["read", "write", "launch"]);
    expect(scopesFor("viewer", true)).toEqual(["read"]);
  });
});

describe("tokenState", () => {
  const now = Date.parse("2026-12-01T12:00:00Z");
  it("revoked wins, then expiry", () => {
    expect(tokenState({ revoked: true, expires_at: null }, now)).toBe("revoked");
    expect(tokenState({ revoked: false, expires_at: "2026-12-01T11:59:59Z" }, now)).toBe("expired");
    expect(tokenState({ revoked: false, expires_at: "2026-12-02T00:00:00Z" }, now)).toBe("active");
    expect(tokenState({ revoked: false, expires_at: null }, now)).toBe("active");
    expect(tokenState({ revoked: false, expires_at: now / 1000 - 1 }, now)).toBe("expired"); // epoch seconds
    expect(tokenState({ revoked: false, expires_at: now / 1000 + 60 }, now)).toBe("active");
  });
});

describe("loginErrorText", () => {
  it("says how long to wait after too many attempts", () => {
    expect(loginErrorText(429, "too many", 42)).toBe("Too many login attempts. Try again in 42 s.");
    expect(loginErrorText(429, "too many", null)).toBe("Too many login attempts. Try again in a minute.");
  });
  it("does not say which of name or password was wrong", () => {
    expect(loginErrorText(401, "wrong user name or password", null)).toBe("Wrong user name or password.");
  });
});
