// The run's bookmarks (shared with everyone who can read the run): note, place, who and when; a click opens the
// run at the place (its permalink), × removes one (its author or an admin: the server decides).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { fmtClock } from "../lib/format";
import { deleteBookmark, listBookmarks, type Bookmark } from "./api";

function placeOf(b: Bookmark): string {
  if (b.line_number !== null) return `line ${b.line_number.toLocaleString()}`;
  if (b.offset !== null) return `byte ${b.offset.toLocaleString()}`;
  return b.time !== null ? `at ${fmtClock(b.time)}` : "run";
}

export function BookmarkList({ runId }: { runId: string }) {
  const qc = useQueryClient();
  const q = useQuery({ queryKey: ["bookmarks", runId], queryFn: () => listBookmarks(runId), refetchInterval: 15_000 });
  const [confirming, setConfirming] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const remove = async (b: Bookmark) => {
    setConfirming(null);
    try {
      await deleteBookmark(runId, b.id);
      setError(null);
    } catch (e) {
      setError(`bookmark at ${placeOf(b)} not removed: ${(e as Error).message}`);
    }
    void qc.invalidateQueries({ queryKey: ["bookmarks", runId] });
  };
  if (q.isError) return <div className="red">bookmarks: {(q.error as Error).message}</div>;
  const marks = q.data?.bookmarks ?? [];
  return (
    <div className="bookmarks" data-testid="bookmarks">
      {q.isLoading && <div className="muted">loading…</div>}
      {error && <div className="red">{error}</div>}
      {q.isSuccess && marks.length === 0 && <div className="empty">no bookmarks — ☆ on a line in LINES adds one</div>}
      {marks.map((b) => (
        <div key={b.id} className="bookmark" data-bookmark={b.id}>
          <Link to={b.url} className="amber place" title="open the run at this place">
            {placeOf(b)}
          </Link>
          <span className="note" title={b.note}>
            {b.note || <span className="muted">(no note)</span>}
          </span>
          <span className="muted who" title={new Date(b.created_at * 1000).toISOString()}>
            {b.created_by ?? ""} {fmtClock(b.created_at)}
          </span>
          {confirming === b.id ? (
            <span>
              <button className="btn tiny danger" onClick={() => void remove(b)}>
                remove
              </button>
              <button className="btn tiny" onClick={() => setConfirming(null)}>
                keep
              </button>
            </span>
          ) : (
            <button className="btn tiny" aria-label="remove bookmark" title="remove (its author or an admin)" onClick={() => setConfirming(b.id)}>
              ×
            </button>
          )}
        </div>
      ))}
      {q.data && q.data.total > marks.length && (
        <div className="muted">
          showing {marks.length.toLocaleString()} of {q.data.total.toLocaleString()} bookmarks
        </div>
      )}
    </div>
  );
}
