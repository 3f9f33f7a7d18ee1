import { describe, expect, it } from "vitest";
import type { ExpRun } from "./api";
import { cellValue, columnOfSort, defaultColumns, flattenConfig, metricColumn, parseColumn, roundedNumber, sortParam } from "./columns";

const run = (over: Partial<ExpRun> = {}): ExpRun =>
  ({
    id: "r1",
    name: "cifar-resnet",
    project: "vision",
    status: "completed",
    config: { optim: { lr: 1e-3, betas: [0.9, 0.99] }, seed: 3 },
    start_time: "2026-01-01T00:00:00Z",
    end_time: "2026-01-01T00:01:30Z",
    exit_code: 0,
    heartbeat_time: null,
    last_step: 10,
    log_size: 0,
    tags: ["baseline"],
    metrics: { "val/loss": { last: 0.2, min: 0.1, max: 0.9 } },
    ...over,
  }) as ExpRun;

describe("flattenConfig", () => {
  it("joins nested keys with dots and keeps arrays whole", () => {
    expect(flattenConfig({ optim: { lr: 1e-3, betas: [0.9, 0.99] }, seed: 3, name: null })).toEqual({
      "optim.lr": 1e-3,
      "optim.betas": "[0.9,0.99]",
      seed: 3,
      name: null,
    });
  });
  it("gives nothing for a non-object config", () => {
    expect(flattenConfig(null)).toEqual({});
    expect(flattenConfig({})).toEqual({});
  });
});

describe("columns and sort keys", () => {
  it("maps columns to the server's sort forms", () => {
    expect(sortParam(metricColumn("val/loss", "last"), false)).toBe("val/loss");
    expect(sortParam(metricColumn("val/loss", "last"), true)).toBe("-val/loss");
    expect(sortParam(metricColumn("val/loss", "min"), false)).toBe("val/loss.min");
    expect(sortParam(metricColumn("val/loss", "max"), true)).toBe("-val/loss.max");
    expect(sortParam("config.optim.lr", false)).toBe("config.optim.lr");
    expect(sortParam("start_time", true)).toBe("-start_time");
    expect(sortParam("tags", false)).toBeNull();
  });
  it("reads a sort back as the column it sorts", () => {
    for (const [id, desc] of [
      [metricColumn("val/loss", "last"), true],
      [metricColumn("train/acc", "min"), false],
      ["config.seed", true],
      ["name", false],
    ] as const) {
      expect(columnOfSort(sortParam(id, desc) as string)).toEqual({ id, desc });
    }
    expect(columnOfSort("")).toBeNull();
  });
  it("rejects unknown column ids", () => {
    expect(parseColumn("bogus")).toBeNull();
    expect(parseColumn("config.")).toBeNull();
  });
});

describe("cellValue", () => {
  it("reads config, metric summaries and duration", () => {
    const r = run();
    const flat = flattenConfig(r.config);
    expect(cellValue(r, "config.optim.lr", flat)).toBe(1e-3);
    expect(cellValue(r, "config.missing", flat)).toBeNull();
    expect(cellValue(r, metricColumn("val/loss", "min"), flat)).toBe(0.1);
    expect(cellValue(r, metricColumn("nope", "last"), flat)).toBeNull();
    expect(cellValue(r, "duration", flat)).toBe(90);
    expect(cellValue(r, "tags", flat)).toEqual(["baseline"]);
  });
});

describe("defaultColumns", () => {
  it("shows the fixed columns, some config keys and non-system metrics", () => {
    const cols = defaultColumns(["lr", "seed"], ["sys/cpu", "val/loss"]);
    expect(cols).toContain("config.lr");
    expect(cols).toContain(metricColumn("val/loss", "last"));
    expect(cols).not.toContain(metricColumn("sys/cpu", "last"));
  });
});

describe("table defaults (issue 25)", () => {
  it("shows the config keys that vary across the runs, not the first ones", () => {
    const cols = defaultColumns(["command", "cwd", "lr", "seed"], ["loss"], true, ["lr", "seed"]);
    expect(cols.filter((c) => c.startsWith("config."))).toEqual(["config.lr", "config.seed"]);
    expect(defaultColumns(["command", "cwd"], [], true).filter((c) => c.startsWith("config."))).toEqual(["config.command", "config.cwd"]);
  });
  it("rounds numbers to significant digits", () => {
    expect(roundedNumber(0.0988791234)).toBe("0.09888");
    expect(roundedNumber(128)).toBe("128");
    expect(roundedNumber(3e-5)).toBe("3.000e-5");
    expect(roundedNumber(1.23456789)).toBe("1.235");
  });
});

describe("the cost column", () => {
  it("shows the run's dollars so far, sorts on the server by cost, and is not a default column", () => {
    const run = { id: "r", name: "r", status: "running", cost: { usd: 1.25, usd_per_hour: 2, source: "x", hours: 0.6, live: true } };
    expect(cellValue(run as unknown as Parameters<typeof cellValue>[0], "cost", {})).toBe(1.25);
    expect(cellValue({ ...run, cost: null } as unknown as Parameters<typeof cellValue>[0], "cost", {})).toBeNull();
    expect(sortParam("cost", true)).toBe("-cost");
    expect(columnOfSort("-cost")).toEqual({ id: "cost", desc: true });
    expect(defaultColumns(["lr"], ["loss"])).not.toContain("cost");
  });
});
