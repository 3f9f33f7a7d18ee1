import { describe, expect, it } from "vitest";
import { levelChoices, levelClass } from "./levels";

describe("level choices", () => {
  it("lists the levels present by value, custom ones with the value the lines carry, unknown ones last", () => {
    const counts = { ERROR: 2, INFO: 10, PROGRESS: 3, SUCCESS: 1, TRACE: 4, WEIRD: 1, DEBUG: 0 };
    const got = levelChoices(counts, { PROGRESS: 22 }).map((c) => `${c.name}:${c.no}`);
    expect(got).toEqual(["TRACE:5", "INFO:20", "PROGRESS:22", "SUCCESS:25", "ERROR:40", "WEIRD:null"]);
  });
  it("names a level counted by its number after the lines that carry it", () => {
    expect(levelChoices({ INFO: 1, "25": 2 }, { PROGRESS: 25 }).map((c) => `${c.name}:${c.no}`)).toEqual(["INFO:20", "PROGRESS:25"]);
    expect(levelChoices({ "25": 2 }).map((c) => `${c.name}:${c.no}`)).toEqual(["25:25"]);
  });
  it("colours by value", () => {
    expect(levelClass("FATAL")).toBe("red");
    expect(levelClass("PROGRESS", 35)).toBe("orange");
    expect(levelClass("SUCCESS")).toBe("green");
    expect(levelClass("TRACE")).toBe("muted");
  });
});
