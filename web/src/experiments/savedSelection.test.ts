import { beforeEach, describe, expect, it } from "vitest";
import { URL_IDS, compareHref, loadSelection, saveSelection } from "./savedSelection";

const ids = (n: number, p = "run") => Array.from({ length: n }, (_, i) => `${p}-${i}`);

beforeEach(() => localStorage.clear());

describe("compare addresses for any number of runs", () => {
  it("keeps a few ids in the address itself", () => {
    expect(compareHref(["a", "b c"])).toBe("/compare?runs=a,b%20c");
    expect(compareHref(ids(URL_IDS)).startsWith("/compare?runs=")).toBe(true);
  });
  it("keeps more in this browser under a short key the compare page reads back", () => {
    const many = ids(5000);
    const href = compareHref(many);
    expect(href).toMatch(/^\/compare\?sel=[a-z0-9]+$/);
    expect(href.length).toBeLessThan(40);
    const key = new URLSearchParams(href.split("?")[1]).get("sel") as string;
    expect(loadSelection(key)?.ids).toEqual(many);
    // the same ids again (a link re-rendered): the same key, saved once
    expect(compareHref(many)).toBe(href);
    expect(localStorage.length).toBe(1);
  });
  it("says an unknown key is unknown, and keeps the newest 20 selections", () => {
    expect(loadSelection("nope")).toBeNull();
    const keys = Array.from({ length: 25 }, (_, i) => saveSelection(ids(3, `s${i}`), 1000 + i) as string);
    expect(loadSelection(keys[0] as string)).toBeNull();
    expect(loadSelection(keys[24] as string)?.ids).toEqual(ids(3, "s24"));
    expect(localStorage.length).toBe(20);
  });
});
