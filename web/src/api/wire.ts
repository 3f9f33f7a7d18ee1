import type { WireFloat } from "./types";

/** Decode a wire float ("NaN", "Infinity", "-Infinity" or a number; null means NaN). */
export function decodeFloat(v: WireFloat | undefined): number {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return NaN;
}

/** Parse an ISO 8601 time (naive strings are UTC) into epoch milliseconds, or NaN. */
export function parseTime(iso: string | null | undefined): number {
  if (!iso) return NaN;
  const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(iso);
  return Date.parse(hasZone ? iso : `${iso}Z`);
}

/** Seconds since the epoch from either an epoch number or an ISO string. */
export function epochSeconds(t: number | string | null | undefined): number {
  if (typeof t === "number") return t;
  return parseTime(t) / 1000;
}

/** A number from any JSON value: numbers, the non-finite strings; anything else is NaN. */
export function toFloat(v: unknown): number {
  if (typeof v === "number") return v;
  if (v === "Infinity" || v === "-Infinity" || v === "NaN") return decodeFloat(v);
  return NaN;
}
