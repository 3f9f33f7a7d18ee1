// A structured line (JSON or logfmt, recognised by the server: `fields` set) as a row: level, logger, message and
// the extra fields as key=value chips. Never the raw JSON string as the message.
import type { LogLine } from "../api/types";

/** A line as the server sends it, with the structured-lines fields (issue 28) that may not be in the schema yet. */
export type AnyLine = LogLine & {
  fields?: Record<string, unknown> | null;
  level_no?: number | null;
  logger?: string | null;
};

export interface StructuredRow {
  logger: string | null;
  message: string;
  /** the other fields, in their order, values as compact text */
  extras: [string, string][];
}

const MESSAGE_KEYS = ["message", "msg", "event", "text"];
const LOGGER_KEYS = ["logger", "logger_name", "name"];
/** Fields the row already shows elsewhere (time, level) or that a JSON logger adds as noise. */
const SHOWN_KEYS = new Set([
  ...MESSAGE_KEYS,
  ...LOGGER_KEYS,
  "level", "levelname", "levelno", "severity", "lvl", "timestamp", "time", "ts", "asctime", "@timestamp",
]);

/** A field's value as short text: strings as they are, everything else as JSON. */
export function fieldText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === undefined) return "";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function firstString(fields: Record<string, unknown>, keys: string[]): string | null {
  for (const k of keys) {
    const v = fields[k];
    if (typeof v === "string" && v !== "") return v;
  }
  return null;
}

const looksRaw = (s: string): boolean => {
  const t = s.trim();
  return t.startsWith("{") && t.endsWith("}");
};

/** The row of a structured line, or null for a plain line. */
export function structuredRow(line: AnyLine): StructuredRow | null {
  const fields = line.fields;
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return null;
  const fromFields = firstString(fields, MESSAGE_KEYS);
  // the server keeps `message` what a human reads; if it is still the raw object, the fields tell the message
  const message = line.message && !looksRaw(line.message) ? line.message : (fromFields ?? "");
  const logger = line.logger ?? firstString(fields, LOGGER_KEYS);
  const extras = Object.entries(fields)
    .filter(([k]) => !SHOWN_KEYS.has(k))
    .map(([k, v]): [string, string] => [k, fieldText(v)]);
  return { logger, message, extras };
}
