import { describe, expect, it } from "vitest";
import type { LogLine } from "../api/types";
import { isProvisional } from "./LinesView";

const line = (extra: object): LogLine =>
  ({ line_number: 3, timestamp: 1, source: "stdout", level: "INFO", message: " 50%|#####", display: " 50%|#####", ...extra }) as LogLine;

describe("isProvisional", () => {
  it("is true only for lines the server marks as open", () => {
    expect(isProvisional(line({ provisional: true }))).toBe(true);
    expect(isProvisional(line({ provisional: false }))).toBe(false);
    expect(isProvisional(line({}))).toBe(false);
    expect(isProvisional(undefined)).toBe(false);
  });
});
