import { describe, expect, it } from "vitest";
import { structuredRow, type AnyLine } from "./structured";

const base: AnyLine = { line_number: 1, timestamp: 1.7e9, source: "stdout", level: "INFO", message: "", display: "", provisional: false };

describe("structured rows", () => {
  it("shows logger, message and the extra fields, never the raw JSON", () => {
    const raw = '{"event": "epoch done", "level": "info", "logger": "train", "timestamp": "2026", "step": 5, "acc": 0.9}';
    const row = structuredRow({ ...base, message: raw, fields: JSON.parse(raw) as Record<string, unknown> });
    expect(row).toEqual({ logger: "train", message: "epoch done", extras: [["step", "5"], ["acc", "0.9"]] });
  });
  it("keeps the server's readable message and shows nested values as compact JSON", () => {
    const row = structuredRow({ ...base, message: "saved", logger: "ckpt", fields: { msg: "saved", extra: { path: "/x" } } });
    expect(row).toEqual({ logger: "ckpt", message: "saved", extras: [["extra", '{"path":"/x"}']] });
  });
  it("leaves a plain line plain", () => {
    expect(structuredRow({ ...base, message: "{not json" })).toBeNull();
    expect(structuredRow({ ...base, message: "x", fields: null })).toBeNull();
  });
});
