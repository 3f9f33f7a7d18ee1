import { describe, expect, it } from "vitest";
import { indicatorOf } from "./liveState";

describe("live indicator", () => {
  it("says off, not down, where no live connection was started", () => {
    expect(indicatorOf("closed", false)).toBe("off");
    expect(indicatorOf("closed", true)).toBe("closed");
    expect(indicatorOf("open", true)).toBe("open");
    expect(indicatorOf("connecting", true)).toBe("connecting");
  });
});
