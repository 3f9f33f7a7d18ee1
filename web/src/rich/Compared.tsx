// The same key at the same step in the runs ticked for comparison (the run page's overlay): their images beside
// this run's, or a run's text to diff against. A run without a value there says so.
import { useQueries } from "@tanstack/react-query";
import type { Run } from "../api/types";
import { ApiError } from "../api/client";
import { richValue, type RichValue } from "./api";

/** Each compared run's value of `key` at `step` (null: it has none there; undefined: loading). */
export function useCompared(others: Run[], key: string, step: number | null): (RichValue | null | undefined)[] {
  const results = useQueries({
    queries: others.map((r) => ({
      queryKey: ["rich-value", r.id, key, step],
      queryFn: async () => {
        try {
          return await richValue(r.id, key, step as number);
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) return null;
          throw e;
        }
      },
      enabled: step !== null,
    })),
  });
  return results.map((q) => (q.isError ? null : q.data));
}

export function ComparedImages({ others, rkey, step }: { others: Run[]; rkey: string; step: number | null }) {
  const values = useCompared(others, rkey, step);
  if (!others.length) return null;
  return (
    <div className="rich-compared" aria-label="compared runs">
      {others.map((r, i) => {
        const v = values[i];
        return (
          <figure key={r.id} className="rich-compared-run">
            {v?.image ? (
              <img src={v.image.url} alt={`${rkey} of ${r.name} at step ${step}`} />
            ) : (
              <div className="empty muted">{v === undefined ? "loading…" : `no ${rkey} at step ${step}`}</div>
            )}
            <figcaption className="muted">{r.name}</figcaption>
          </figure>
        );
      })}
    </div>
  );
}
