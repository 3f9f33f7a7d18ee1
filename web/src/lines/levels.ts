// The level filter's choices: the levels present in the run, ordered by their numeric value (custom levels
// included: their value from the lines when the server sends it, else after the known ones).

/** Python logging's values, and the usual extra names (loguru's TRACE and SUCCESS, syslog's NOTICE). */
export const KNOWN_LEVELS: Record<string, number> = {
  TRACE: 5,
  DEBUG: 10,
  INFO: 20,
  SUCCESS: 25,
  NOTICE: 25,
  WARNING: 30,
  WARN: 30,
  ERROR: 40,
  CRITICAL: 50,
  FATAL: 50,
};

export interface LevelChoice {
  name: string;
  no: number | null;
  count: number;
}

/** `counts` from the summary (name -> lines), `seen` name -> level_no from lines read so far. */
export function levelChoices(counts: Record<string, number>, seen: Record<string, number | null | undefined> = {}): LevelChoice[] {
  // a count keyed by a bare number is a level the lines name (level_no): shown by that name when a line told it
  const nameOf = new Map<number, string>();
  for (const [name, no] of Object.entries(seen)) if (typeof no === "number" && !nameOf.has(no)) nameOf.set(no, name);
  const out = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([key, count]) => {
      const numeric = /^\d+$/.test(key) ? Number(key) : null;
      const name = numeric !== null ? (nameOf.get(numeric) ?? key) : key;
      const no = numeric ?? seen[name] ?? seen[name.toUpperCase()] ?? KNOWN_LEVELS[name.toUpperCase()] ?? null;
      return { name, no, count };
    });
  return out.sort((a, b) => (a.no ?? Infinity) - (b.no ?? Infinity) || a.name.localeCompare(b.name));
}

/** The badge colour of a level (by value when known). */
export function levelClass(level: string, no?: number | null): string {
  const n = no ?? KNOWN_LEVELS[level.toUpperCase()] ?? 20;
  if (n >= 40) return "red";
  if (n >= 30) return "orange";
  if (n === 25) return "green";
  if (n < 20) return "muted";
  return "cyan";
}
