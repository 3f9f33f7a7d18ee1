// Pure helpers of the ranks panel: which ranks a grid page shows, how a merged line is labelled, what the
// banner says about stragglers and the first failure.
import type { RankList, RankRecord } from "./api";

export const GRID_SIZES = [4, 8, 16] as const;
export type GridSize = (typeof GRID_SIZES)[number];

/** What the panel shows: the grid of rank terminals, the merged lines, or one rank. */
export type RankView = { kind: "grid" } | { kind: "merged" } | { kind: "steps" } | { kind: "rank"; rank: number };

export interface GridPage {
  ranks: RankRecord[];
  page: number;
  pages: number;
  first: number;
  last: number;
}

/** The ranks on grid page `page` (clamped) of `size` terminals. */
export function gridPage(ranks: RankRecord[], page: number, size: number): GridPage {
  const pages = Math.max(1, Math.ceil(ranks.length / size));
  const p = Math.min(Math.max(0, page), pages - 1);
  const shown = ranks.slice(p * size, p * size + size);
  return { ranks: shown, page: p, pages, first: shown[0]?.rank ?? 0, last: shown[shown.length - 1]?.rank ?? 0 };
}

/** The page that holds `rank`. */
export function pageOf(ranks: RankRecord[], rank: number, size: number): number {
  const i = ranks.findIndex((r) => r.rank === rank);
  return i < 0 ? 0 : Math.floor(i / size);
}

/** A merged line's label: `[rank N]`, or `[node]` for the launcher's own output. */
export function lineLabel(rank: number | null | undefined): string {
  return rank === null || rank === undefined ? "[node]" : `[rank ${rank}]`;
}

/** The banner's sentences: the first failing rank, then the stragglers. */
export function findings(list: RankList): string[] {
  const out: string[] = [];
  const f = list.first_failure;
  if (f) {
    const where = f.node ? ` (node ${f.node})` : "";
    out.push(`rank ${f.rank}${where} failed first${f.error ? `: ${f.error.split("\n")[0]}` : ""}`);
  }
  const slow = list.ranks.filter((r) => r.straggler);
  if (slow.length) {
    const named = slow.slice(0, 8).map((r) => `rank ${r.rank} (+${r.slower_by_percent ?? "?"}%)`);
    const more = slow.length > 8 ? ` and ${slow.length - 8} more` : "";
    out.push(`straggler${slow.length > 1 ? "s" : ""}: ${named.join(", ")}${more}`);
  }
  return out;
}

/** A rank's state in its terminal's header. */
export function rankState(r: RankRecord): { text: string; cls: string } {
  if (r.exit_code !== null && r.exit_code !== undefined) {
    return r.exit_code === 0 ? { text: "exit 0", cls: "green" } : { text: `✗ exit ${r.exit_code}`, cls: "red" };
  }
  if (r.straggler) return { text: `slow +${r.slower_by_percent ?? "?"}%`, cls: "amber" };
  return { text: "", cls: "" };
}

export interface StepBar {
  rank: number;
  seconds: number;
  straggler: boolean;
  slowerBy: number | null;
}

/** The ranks with a measured step time, as bars scaled to the slowest; how many have none yet. */
export function stepBars(ranks: RankRecord[]): { bars: StepBar[]; unknown: number; max: number } {
  const bars: StepBar[] = [];
  for (const r of ranks) {
    if (r.step_time_median === null || r.step_time_median === undefined) continue;
    bars.push({ rank: r.rank, seconds: r.step_time_median, straggler: r.straggler ?? false, slowerBy: r.slower_by_percent ?? null });
  }
  const max = Math.max(1e-9, ...bars.map((b) => b.seconds));
  return { bars, unknown: ranks.length - bars.length, max };
}
