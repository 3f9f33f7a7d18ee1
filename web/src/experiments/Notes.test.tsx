import { cleanup, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { NotesView, safeUrl } from "./Notes";
import { parseTags } from "./RunMeta";

afterEach(cleanup);

describe("NotesView", () => {
  it("renders Markdown", () => {
    const { container } = render(<NotesView text={"**best** run\n\n- lr 1e-3\n- `seed=2`"} />);
    expect(container.querySelector("strong")?.textContent).toBe("best");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("code")?.textContent).toBe("seed=2");
  });
  it("never renders raw HTML or script links", () => {
    const { container } = render(
      <NotesView text={'<img src=x onerror="alert(1)"> <script>alert(2)</script>\n\n[click](javascript:alert(3)) [ok](https://example.org)'} />,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("script")).toBeNull();
    const hrefs = [...container.querySelectorAll("a")].map((a) => a.getAttribute("href") ?? "");
    expect(hrefs.some((h) => h.toLowerCase().startsWith("javascript"))).toBe(false);
    expect(hrefs).toContain("https://example.org");
  });
  it("says when there are no notes", () => {
    expect(render(<NotesView text="  " />).container.textContent).toBe("no notes");
  });
});

describe("safeUrl and parseTags", () => {
  it("keeps web links only", () => {
    expect(safeUrl("https://a.b/c")).toBe("https://a.b/c");
    expect(safeUrl("data:text/html,x")).toBe("");
    expect(safeUrl("//evil.example")).toBe("");
  });
  it("splits tags on commas and spaces, deduplicated", () => {
    expect(parseTags(" best, seed-sweep best  ")).toEqual(["best", "seed-sweep"]);
  });
});
