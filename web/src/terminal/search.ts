// Terminal search: how matches are drawn and what the result count says.

/** What the search addon reports after a search (needs the terminal's proposed API). */
export interface SearchResults {
  resultIndex: number;
  resultCount: number;
}

/** Every match highlighted, the current one stronger (the addon counts matches only when it decorates them). */
export const searchDecorations = {
  matchBackground: "#5c4a00",
  matchBorder: "#8a6f00",
  matchOverviewRuler: "#8a6f00",
  activeMatchBackground: "#c08000",
  activeMatchBorder: "#FFD700",
  activeMatchColorOverviewRuler: "#FFD700",
};

/** "3 of 12", "no matches", "1000+ matches" (the addon stops counting there), or "" when nothing is searched. */
export function searchStatus(query: string, r: SearchResults | null): string {
  if (!query || !r) return "";
  if (r.resultCount === 0) return "no matches";
  if (r.resultIndex < 0) return r.resultCount >= 1000 ? "1000+ matches" : `${r.resultCount} matches`;
  return `${r.resultIndex + 1} of ${r.resultCount >= 1000 ? "1000+" : r.resultCount}`;
}
