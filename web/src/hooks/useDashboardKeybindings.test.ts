import { act, cleanup, renderHook } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Run } from "../api/types";
import { SHORTCUTS } from "../components/HelpOverlay";
import { timeline } from "../timeline/moment";
import { dashboardKeybindings, useDashboardKeybindings, type LogTab } from "./useDashboardKeybindings";

const run = (id: string): Run => ({
  id,
  name: id,
  project: "p",
  status: "running",
  config: {},
  start_time: "2026-11-22T10:00:00Z",
  end_time: null,
  exit_code: null,
  heartbeat_time: null,
  last_step: null,
  log_size: 0,
  tags: [],
  notes: "",
  archived: false,
});
const RUNS = [run("r1"), run("r2"), run("r3")];

beforeEach(() => vi.useFakeTimers());
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  document.body.replaceChildren();
});

function press(key: string, target: Element = document.body, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init });
  act(() => {
    target.dispatchEvent(e);
  });
  return e;
}

/** The dashboard's state around the hook, as Dashboard.tsx holds it; `select` moves the open run. */
function setup(runId: string | undefined = "r2", initial: { help?: boolean; compare?: string[] } = {}) {
  const search = document.body.appendChild(document.createElement("input"));
  const term = { focus: vi.fn(), focusSearch: vi.fn() };
  const lines = { focusSearch: vi.fn() };
  const hook = renderHook(() => {
    const [open, select] = useState(runId);
    const [logTab, setLogTab] = useState<LogTab>("terminal");
    const [help, setHelp] = useState(initial.help ?? false);
    const [compare, setCompare] = useState<string[]>(initial.compare ?? []);
    useDashboardKeybindings({
      runs: RUNS,
      runId: open,
      logTab,
      select,
      setLogTab,
      setCompare,
      setHelp,
      searchRef: { current: search },
      termRef: { current: term },
      linesRef: { current: lines },
    });
    return { open, logTab, help, compare };
  });
  return { state: () => hook.result.current, search, term, lines };
}

describe("dashboard shortcuts", () => {
  it("j / ArrowDown open the next run and stop at the last", () => {
    const s = setup("r1");
    press("j");
    expect(s.state().open).toBe("r2");
    press("ArrowDown");
    expect(s.state().open).toBe("r3");
    press("j");
    expect(s.state().open).toBe("r3");
  });

  it("k / ArrowUp open the previous run and stop at the first", () => {
    const s = setup("r3");
    press("k");
    expect(s.state().open).toBe("r2");
    press("ArrowUp");
    expect(s.state().open).toBe("r1");
    press("k");
    expect(s.state().open).toBe("r1");
  });

  it("j with no run open (or one filtered out) opens the first listed run", () => {
    const s = setup("gone");
    press("j");
    expect(s.state().open).toBe("r1");
  });

  it("/ focuses the run search", () => {
    const s = setup();
    const e = press("/");
    expect(document.activeElement).toBe(s.search);
    expect(e.defaultPrevented).toBe(true); // the "/" is not typed into the search box
  });

  it("t switches TERMINAL / LINES and f searches in the tab shown", () => {
    const s = setup();
    press("f");
    expect(s.term.focusSearch).toHaveBeenCalledTimes(1);
    press("t");
    expect(s.state().logTab).toBe("lines");
    press("f");
    expect(s.lines.focusSearch).toHaveBeenCalledTimes(1);
    expect(s.term.focusSearch).toHaveBeenCalledTimes(1);
    press("t");
    expect(s.state().logTab).toBe("terminal");
  });

  it("l shows the terminal tab and focuses the terminal", () => {
    const s = setup();
    press("t");
    press("l");
    expect(s.state().logTab).toBe("terminal");
    act(() => vi.runAllTimers());
    expect(s.term.focus).toHaveBeenCalledTimes(1);
  });

  it("c clears the chart comparison", () => {
    const s = setup("r1", { compare: ["r2", "r3"] });
    press("c");
    expect(s.state().compare).toEqual([]);
  });

  it("? toggles the help, Esc closes it", () => {
    const s = setup();
    press("?", document.body, { shiftKey: true });
    expect(s.state().help).toBe(true);
    press("?", document.body, { shiftKey: true });
    expect(s.state().help).toBe(false);
    press("?", document.body, { shiftKey: true });
    press("Escape");
    expect(s.state().help).toBe(false);
  });

  it("Esc returns a step marked on the time line to live", () => {
    setup("r1");
    timeline.set({ runId: "r1", step: 40, time: 1000, since: 999, key: "loss" });
    press("Escape");
    expect(timeline.get()).toBeNull();
  });

  it("keys typed into the run search are text, not shortcuts; Esc leaves the field", () => {
    const s = setup("r1", { compare: ["r2"] });
    s.search.focus();
    for (const k of ["j", "k", "t", "c", "/", "?", "l", "f", "ArrowDown"]) press(k, s.search);
    expect(s.state()).toEqual({ open: "r1", logTab: "terminal", help: false, compare: ["r2"] });
    expect(s.term.focusSearch).not.toHaveBeenCalled();
    press("Escape", s.search);
    expect(document.activeElement).not.toBe(s.search);
  });

  it("keys typed into the terminal stay with it, except ?", () => {
    const s = setup("r1");
    const xterm = document.body.appendChild(document.createElement("div"));
    xterm.className = "xterm";
    const screen = xterm.appendChild(document.createElement("div"));
    press("j", screen);
    press("t", screen);
    expect(s.state()).toMatchObject({ open: "r1", logTab: "terminal" });
    press("?", screen, { shiftKey: true });
    expect(s.state().help).toBe(true);
  });

  it("Ctrl/Alt/Meta combinations are left to the browser", () => {
    const s = setup("r1");
    const e = press("j", document.body, { ctrlKey: true });
    press("c", document.body, { metaKey: true });
    press("t", document.body, { altKey: true });
    expect(s.state()).toMatchObject({ open: "r1", logTab: "terminal" });
    expect(e.defaultPrevented).toBe(false);
  });
});

describe("the help overlay", () => {
  const NAMES: Record<string, string> = { "↓": "ArrowDown", "↑": "ArrowUp", Esc: "Escape" };

  it("lists exactly the keys that are bound", () => {
    const listed = SHORTCUTS.flatMap(([k]) => k.split(" / ")).map((k) => NAMES[k] ?? k);
    const noop = () => undefined;
    const ref = { current: null };
    const bindings = dashboardKeybindings({
      runs: [],
      runId: undefined,
      logTab: "terminal",
      select: noop,
      setLogTab: noop,
      setCompare: noop,
      setHelp: noop,
      searchRef: ref,
      termRef: ref,
      linesRef: ref,
    });
    expect(listed.sort()).toEqual(bindings.flatMap((b) => b.keys).sort());
  });
});
