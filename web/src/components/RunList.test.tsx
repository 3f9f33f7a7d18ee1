import { cleanup, fireEvent, render } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import { currentScheme, runColor } from "../lib/theme";
import { RunList, compareHref, defaultFilter, filterRuns } from "./RunList";

const run = (id: string, name: string, status: Run["status"], start: string, project = "p"): Run => ({
  id,
  name,
  project,
  status,
  config: {},
  start_time: start,
  end_time: null,
  exit_code: null,
  heartbeat_time: null,
  last_step: null,
  log_size: 0,
  tags: [],
  notes: "",
  archived: false,
});

const runs = [
  run("a", "<img src=x onerror=alert(1)>", "running", "2026-11-22T10:00:00Z"),
  run("b", "bert", "failed", "2026-11-22T12:00:00Z", "nlp"),
  run("c", "resnet", "completed", "2026-11-22T11:00:00Z"),
];

afterEach(cleanup);

describe("RunList", () => {
  it("renders a run name as text, never as markup", () => {
    render(
      <RunList
        runs={runs}
        allRuns={runs}
        filter={defaultFilter}
        onFilter={() => undefined}
        selected="a"
        onSelect={() => undefined}
        compare={[]}
        onToggleCompare={() => undefined}
      />,
    );
    expect(document.querySelector("img")).toBeNull();
    expect(document.body.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(document.body.textContent).toContain("[● RUNNING]");
    expect(document.body.textContent).toContain("[✗ FAILED]");
    expect(document.body.textContent).toContain("[✓ COMPLETED]");
  });

  it("filters by text, project and status and sorts by start time", () => {
    expect(filterRuns(runs, defaultFilter).map((r) => r.id)).toEqual(["b", "c", "a"]);
    expect(filterRuns(runs, { ...defaultFilter, newestFirst: false }).map((r) => r.id)).toEqual(["a", "c", "b"]);
    expect(filterRuns(runs, { ...defaultFilter, text: "RES" }).map((r) => r.id)).toEqual(["c"]);
    expect(filterRuns(runs, { ...defaultFilter, project: "nlp" }).map((r) => r.id)).toEqual(["b"]);
    expect(filterRuns(runs, { ...defaultFilter, status: "running" }).map((r) => r.id)).toEqual(["a"]);
  });

  it("makes comparing discoverable: a hint, then a compare link once runs are ticked; x ticks the shown run", () => {
    const toggled: string[] = [];
    const props = {
      runs,
      allRuns: runs,
      filter: defaultFilter,
      onFilter: () => undefined,
      selected: "a",
      onSelect: () => undefined,
      onToggleCompare: (id: string) => toggled.push(id),
    };
    const { rerender } = render(<RunList {...props} compare={[]} />);
    expect(document.querySelector('[data-testid="compare-bar"]')?.textContent).toContain("tick runs (or press x)");
    fireEvent.keyDown(window, { key: "x" });
    expect(toggled).toEqual(["a"]);
    rerender(<RunList {...props} compare={["b", "c"]} />);
    const link = [...document.querySelectorAll("a")].find((a) => a.textContent?.includes("COMPARE 3"));
    expect(link?.getAttribute("href")).toBe("/compare?runs=a,b,c");
    expect(compareHref(["x y", "z"])).toBe("/compare?runs=x%20y,z");
  });
});

describe("RunList as a window of the runs query", () => {
  it("says it shows 200 of 9,997 and offers the next page", () => {
    let asked = 0;
    const { getByTestId, getByRole } = render(
      <RunList
        runs={runs}
        allRuns={runs}
        filter={defaultFilter}
        onFilter={() => undefined}
        selected="a"
        onSelect={() => undefined}
        compare={[]}
        onToggleCompare={() => undefined}
        window={{ shown: 200, total: 9_997, hasMore: true, loadingMore: false, more: () => asked++, projects: ["nlp", "vision"] }}
      />,
    );
    expect(getByTestId("runlist-more").textContent).toContain("showing 200 of 9,997 — narrow the filter or");
    fireEvent.click(getByRole("button", { name: "SHOW 200 MORE" }));
    expect(asked).toBe(1);
    expect(getByRole("combobox", { name: "project" }).textContent).toContain("vision");
  });
});

describe("RunList checkbox colours", () => {
  it("gives each overlaid run's checkbox its series colour from the one palette, and none past the overlay", () => {
    render(
      <RunList
        runs={runs}
        allRuns={runs}
        filter={defaultFilter}
        onFilter={() => undefined}
        selected="a"
        onSelect={() => undefined}
        compare={["c", "b"]}
        overlay={["a", "b"]}
        onToggleCompare={() => undefined}
      />,
    );
    const box = (id: string) => document.querySelector<HTMLInputElement>(`[data-run-id="${id}"] input[type=checkbox]`);
    const scheme = currentScheme();
    // the charts draw overlay[i] in runColor(scheme, i): the shown run 0, "b" 1
    expect(box("a")?.dataset.seriesColor).toBe(runColor(scheme, 0));
    expect(box("b")?.dataset.seriesColor).toBe(runColor(scheme, 1));
    expect(box("b")?.style.accentColor).not.toBe("");
    // "c" is ticked but not overlaid live (past the cap): no series, no colour
    expect(box("c")?.checked).toBe(true);
    expect(box("c")?.dataset.seriesColor).toBeUndefined();
  });
});
