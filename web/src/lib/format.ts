import { parseTime } from "../api/wire";

export function fmtNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(digits - 1);
  if (Number.isInteger(v)) return String(v);
  return v.toPrecision(digits);
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)}${units[i]}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2026-11-22 14:32:05" in local time, or "—". */
export function fmtTime(iso: string | number | null | undefined): string {
  const ms = typeof iso === "number" ? iso * 1000 : parseTime(iso);
  if (!Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtClock(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "1h02m", "3m05s", "12s" */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${pad(m)}m`;
  if (m > 0) return `${m}m${pad(s % 60)}s`;
  return `${s}s`;
}

/** A system metric (`sys/...` key) in its unit: bytes, bytes per second, percent, watts, degrees. */
export function fmtSystemValue(key: string, value: unknown): string {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value);
  if (key.endsWith("_bytes_per_s")) return `${fmtBytes(value)}/s`;
  if (/(ram_used|ram_total|proc_rss|memory_used|memory_total)$/.test(key)) return fmtBytes(value);
  if (/(percent|utilization)$/.test(key)) return `${value.toFixed(1)}%`;
  if (key.endsWith("power_watts")) return `${value.toFixed(0)} W`;
  if (key.endsWith("temperature_c")) return `${value.toFixed(0)} °C`;
  return value.toPrecision(4);
}

/** "$0.0123", "$1.23", "$1,234" */
export function fmtUsd(usd: number): string {
  if (usd < 1) return `$${usd.toFixed(4)}`;
  if (usd < 1000) return `$${usd.toFixed(2)}`;
  return `$${Math.round(usd).toLocaleString("en-US")}`;
}
