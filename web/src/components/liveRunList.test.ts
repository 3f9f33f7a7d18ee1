import { describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import { applyMessage, listParams, shownOf, type ListPage } from "./liveRunList";
import { defaultFilter } from "./RunList";

const run = (id: string, status: Run["status"] = "running", name = id, project = "p"): Run => ({
  id,
  name,
  project,
  status,
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

const pages = (ids: string[], total: number): ListPage[] => [{ runs: ids.map((i) => run(i)), total, next_cursor: total > ids.length ? "c" : null }];

describe("the live run list", () => {
  it("asks the server to search, filter and order (no client-side cut)", () => {
    expect(listParams({ ...defaultFilter, status: "failed", project: "nlp", newestFirst: false }, " 00326 ")).toEqual({
      search: "00326",
      project: "nlp",
      status: "failed",
      sort: "start_time",
      limit: 200,
    });
  });
  it("puts a new matching run at the top and counts it", () => {
    const out = applyMessage(pages(["b", "a"], 9_997), { type: "run_created", run: run("c") }, defaultFilter, "");
    expect(out.pages[0]?.runs.map((r) => r.id)).toEqual(["c", "b", "a"]);
    expect(out.pages[0]?.total).toBe(9_998);
    expect(out.refetch).toBe(false);
  });
  it("leaves out a new run the search does not match", () => {
    const out = applyMessage(pages(["b"], 1), { type: "run_created", run: run("zzz") }, defaultFilter, "bert");
    expect(out.changed).toBe(false);
  });
  it("changes a status in place, and drops a run that leaves a status filter", () => {
    const msg = { type: "status_change", run_id: "a", old_status: "running", new_status: "failed" } as const;
    expect(applyMessage(pages(["a"], 1), msg, defaultFilter, "").pages[0]?.runs[0]?.status).toBe("failed");
    const filtered = applyMessage(pages(["a"], 1), msg, { ...defaultFilter, status: "running" }, "");
    expect(filtered.pages[0]?.runs).toEqual([]);
    expect(filtered.pages[0]?.total).toBe(0);
  });
  it("asks again when a run not shown starts to match", () => {
    const msg = { type: "status_change", run_id: "x", old_status: "running", new_status: "failed" } as const;
    expect(applyMessage(pages(["a"], 1), msg, { ...defaultFilter, status: "failed" }, "").refetch).toBe(true);
  });
  it("removes a deleted run and applies a rename", () => {
    const del = applyMessage(pages(["a", "b"], 2), { type: "run_deleted", run_id: "a" }, defaultFilter, "");
    expect(del.pages[0]?.runs.map((r) => r.id)).toEqual(["b"]);
    expect(del.pages[0]?.total).toBe(1);
    const upd = applyMessage(pages(["a"], 1), { type: "run_updated", id: 5, run_id: "a", changes: { name: "new" }, run: run("a", "running", "new") }, defaultFilter, "");
    expect(upd.pages[0]?.runs[0]?.name).toBe("new");
  });
  it("refetches after a reset", () => {
    expect(applyMessage(pages(["a"], 1), { type: "reset", id: 9 }, defaultFilter, "").refetch).toBe(true);
  });
  it("says how many it shows of how many", () => {
    expect(shownOf(200, 9997)).toBe("200 of 9,997");
    expect(shownOf(12, 12)).toBe("12");
  });
});
