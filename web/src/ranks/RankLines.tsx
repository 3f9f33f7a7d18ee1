// A distributed run's lines: every stream merged in line order, each line labelled `[rank N]` (or `[node]` for
// the launcher's own output), or one rank's lines. Follows a live run by polling after the last final line;
// keeps the newest MAX_SHOWN lines and says how many there are.
import { useEffect, useRef, useState } from "react";
import { getRankLines, type RankLine } from "./api";
import { lineLabel } from "./model";

const PAGE = 2000;
const MAX_SHOWN = 5000;
const POLL_MS = 2000;

export function RankLines({ runId, rank, live }: { runId: string; rank: number | null; live: boolean }) {
  const [lines, setLines] = useState<RankLine[]>([]);
  const [open, setOpen] = useState<RankLine[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let cancelled = false;
    let after = -1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setLines([]);
    setOpen([]);
    const load = async () => {
      try {
        for (;;) {
          const page = await getRankLines(runId, rank, after, PAGE);
          if (cancelled) return;
          const final = page.lines.filter((l) => !l.provisional);
          if (final.length) {
            after = final[final.length - 1]!.line_number;
            setLines((old) => [...old, ...final].slice(-MAX_SHOWN));
          }
          setOpen(page.lines.filter((l) => l.provisional));
          setTotal(page.total ?? null);
          if (page.next_cursor === null || page.next_cursor === undefined) break;
        }
        setError(null);
      } catch (e) {
        if (!cancelled) setError(String(e));
      }
      if (!cancelled && live) timer = setTimeout(() => void load(), POLL_MS);
    };
    void load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [runId, rank, live]);

  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines, open]);

  const shown = lines.length + open.length;
  return (
    <div className="rank-lines-wrap">
      <div className="muted rank-lines-count" role="status">
        {rank === null ? "all ranks merged" : `rank ${rank} only`} ·{" "}
        {total !== null && total > shown ? `showing the newest ${shown} of ${total} lines` : `${shown} lines`}
        {error ? ` · ${error}` : ""}
      </div>
      <div className="rank-lines" ref={box} aria-label="rank lines">
        {[...lines, ...open].map((l) => (
          <div key={`${l.line_number}${l.provisional ? "p" : ""}`} className={`rank-line lvl-${l.level.toLowerCase()}`}>
            <span className="rank-label">{lineLabel(l.rank)}</span> <span className="rank-text">{l.message}</span>
          </div>
        ))}
      </div>
    </div>
  );
}
