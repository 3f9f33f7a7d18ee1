import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { forwardRef, useEffect, useImperativeHandle, useMemo, useRef, useState } from "react";
import { clearLogs, getLogLines, getLogSummary, logDownloadUrl, type LineFilters } from "../api/client";
import type { LogLine } from "../api/types";
import { epochSeconds } from "../api/wire";
import { ansiSegments } from "../lib/ansi";
import { fmtClock } from "../lib/format";
import { useDebounced } from "../lib/useDebounced";
import { timeline, useMoment } from "../timeline/moment";
import { matcher, splitMatches } from "./highlight";
import { momentRows } from "./momentLines";

const PAGE = 500;
const ROW = 16;
const LEVELS = ["debug", "info", "warning", "error", "critical"];

const levelClass = (l: string): string => {
  const u = l.toUpperCase();
  if (u === "ERROR" || u === "CRITICAL" || u === "FATAL") return "red";
  if (u === "WARNING" || u === "WARN") return "orange";
  if (u === "DEBUG") return "muted";
  return "cyan";
};

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** Lines are shown as plain text: escape sequences the server left in are removed. */
export function stripAnsi(s: string): string {
  return s.includes("\x1b") ? s.replace(ANSI, "") : s;
}

/** An open line (`provisional` from the server): still being redrawn, or the last line so far. */
export function isProvisional(line: LogLine | undefined): boolean {
  return Boolean(line && (line as LogLine & { provisional?: boolean }).provisional);
}

export interface LinesHandle {
  focusSearch(): void;
}

export const LinesView = forwardRef<LinesHandle, { runId: string; running: boolean }>(function LinesView({ runId, running }, ref) {
  const qc = useQueryClient();
  const [level, setLevel] = useState("");
  const [source, setSource] = useState("");
  const [searchText, setSearchText] = useState("");
  const [regex, setRegex] = useState(false);
  const [paused, setPaused] = useState(false);
  const [follow, setFollow] = useState(true);
  const [note, setNote] = useState<string | null>(null);
  const search = useDebounced(searchText, 250);
  const searchRef = useRef<HTMLInputElement>(null);
  useImperativeHandle(ref, () => ({ focusSearch: () => searchRef.current?.focus() }));

  const filters: LineFilters = useMemo(
    () => ({ level: level || undefined, source: source || undefined, search: search || undefined, regex }),
    [level, source, search, regex],
  );
  const moment = useMoment(runId);
  const marked = useQuery({
    queryKey: ["moment-lines", runId, filters, moment?.since, moment?.time],
    queryFn: () => (moment ? momentRows(runId, filters, moment.since, moment.time) : null),
    enabled: !!moment,
  });
  const mark = moment ? (marked.data ?? null) : null;
  const re = useMemo(() => matcher(search, regex), [search, regex]);
  const live = running && !paused;
  const interval = live ? 2000 : false;

  const summary = useQuery({
    queryKey: ["summary", runId],
    queryFn: () => getLogSummary(runId),
    refetchInterval: interval,
  });
  const first = useQuery({
    queryKey: ["lines", runId, filters, "total"],
    queryFn: () => getLogLines(runId, filters, 0, 1),
    refetchInterval: interval,
  });
  const total = first.data?.total ?? 0;

  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 30,
  });
  const items = v.getVirtualItems();
  const pages = useMemo(() => {
    const set = new Set<number>();
    for (const it of items) set.add(Math.floor(it.index / PAGE));
    return [...set].sort((a, b) => a - b);
  }, [items]);
  const pageQueries = useQueries({
    queries: pages.map((p) => ({
      queryKey: ["lines", runId, filters, p],
      queryFn: () => getLogLines(runId, filters, p * PAGE, PAGE),
      refetchInterval: interval,
      placeholderData: (prev: unknown) => prev as { lines: LogLine[]; total: number } | undefined,
    })),
  });
  const rowAt = (i: number): LogLine | undefined => {
    const pi = pages.indexOf(Math.floor(i / PAGE));
    return pageQueries[pi]?.data?.lines[i % PAGE];
  };

  // tail -f: stay at the end while following
  useEffect(() => {
    if (follow && total > 0 && !moment) v.scrollToIndex(total - 1, { align: "end" });
  }, [follow, total, v, moment]);
  // a marked moment: its lines in view (and following stops until back to live)
  useEffect(() => {
    if (!mark) return;
    setFollow(false);
    v.scrollToIndex(mark.last, { align: "center" });
  }, [mark, v]);
  const hadMoment = useRef(false);
  useEffect(() => {
    if (moment) hadMoment.current = true;
    else if (hadMoment.current) {
      hadMoment.current = false;
      setFollow(true); // back to live: the end of the output again
    }
  }, [moment]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW * 2;
    if (atEnd !== follow) setFollow(atEnd);
  };

  const levels = summary.data?.levels ?? {};
  const sources = summary.data?.sources ?? {};

  const onClear = async () => {
    if (!window.confirm("Delete all log lines of this run? This cannot be undone.")) return;
    try {
      await clearLogs(runId);
      setNote("logs cleared");
    } catch (e) {
      setNote(`clear failed: ${(e as Error).message}`);
    }
    void qc.invalidateQueries({ queryKey: ["lines", runId] });
    void qc.invalidateQueries({ queryKey: ["summary", runId] });
  };

  return (
    <div className="lines">
      <div className="toolbar">
        <select className="input" value={level} onChange={(e) => setLevel(e.target.value)} aria-label="level">
          <option value="">all levels</option>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l === "critical" ? "CRITICAL" : `${l.toUpperCase()}+`}
            </option>
          ))}
        </select>
        <select className="input" value={source} onChange={(e) => setSource(e.target.value)} aria-label="source">
          <option value="">all sources</option>
          {[...new Set(["stdout", "stderr", "sdk", "user", ...Object.keys(sources)])].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <input
          ref={searchRef}
          className="input"
          placeholder="search lines…"
          value={searchText}
          onChange={(e) => setSearchText(e.target.value)}
          aria-label="search lines"
        />
        <label className="check">
          <input type="checkbox" checked={regex} onChange={(e) => setRegex(e.target.checked)} /> regex
        </label>
        <button className={paused ? "btn on" : "btn"} onClick={() => setPaused(!paused)} aria-pressed={paused}>
          {paused ? "▶ RESUME" : "❚❚ PAUSE"}
        </button>
        <span className="downloads">
          ⤓{" "}
          {(["txt", "json", "csv"] as const).map((f) => (
            <a key={f} className="btn link" href={logDownloadUrl(runId, f, filters)} download data-format={f}>
              {f.toUpperCase()}
            </a>
          ))}
        </span>
        <button className="btn danger" onClick={() => void onClear()}>
          CLEAR
        </button>
      </div>
      <div className="summary">
        <span>
          {total.toLocaleString()} shown / {(summary.data?.total ?? 0).toLocaleString()} lines
        </span>
        {Object.entries(levels)
          .filter(([, n]) => n > 0)
          .map(([l, n]) => (
          <button
            key={l}
            className={`chip ${levelClass(l)}`}
            title="show this level and above"
            onClick={() => setLevel(level === l.toLowerCase() ? "" : l.toLowerCase())}
          >
            {l} {n}
          </button>
        ))}
        {Object.entries(sources)
          .filter(([, n]) => n > 0)
          .map(([s, n]) => (
          <span key={s} className="muted">
            {s} {n}
          </span>
        ))}
        {paused && <span className="orange">PAUSED</span>}
        {!follow && <span className="muted">scrolled · not following</span>}
        {note && <span className="orange">{note}</span>}
        {moment && (
          <span className="amber" data-testid="lines-moment">
            ◆ step {moment.step} at {fmtClock(moment.time)}:{" "}
            {!mark ? (marked.isLoading ? "finding its output…" : "nothing printed yet") : mark.exact ? `${mark.last - mark.first + 1} line(s) printed during it` : "printed nothing; the line before is marked"}{" "}
            <button className="btn on" onClick={() => timeline.set(null)} title="follow the live output again">
              ⟲ back to live
            </button>
          </span>
        )}
        {first.isError && <span className="red">lines: {(first.error as Error).message}</span>}
      </div>
      <div className="lines-scroll" ref={scroller} onScroll={onScroll} data-testid="lines">
        {total === 0 && !first.isLoading && <div className="empty">no log lines{level || source || search ? " match" : ""}</div>}
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {items.map((it) => {
            const line = rowAt(it.index);
            const inMoment = mark !== null && it.index >= mark.first && it.index <= mark.last;
            return (
              <div
                key={it.key}
                className={`line${isProvisional(line) ? " provisional" : ""}${inMoment ? " at-moment" : ""}`}
                data-moment={inMoment ? (mark.exact ? "step" : "before") : undefined}
                title={isProvisional(line) ? "open line: may still change (a bar being redrawn, or the last line so far)" : undefined}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${it.start}px)` }}
                data-level={line?.level}
              >
                {line ? (
                  <>
                    <span className="muted ln">{line.line_number}</span>
                    <span className="muted">{line.timestamp === null ? "" : fmtClock(epochSeconds(line.timestamp))}</span>
                    <span className={`lvl ${levelClass(line.level)}`}>{line.level.toUpperCase().slice(0, 8)}</span>
                    <span className="muted src">{line.source}</span>
                    <span className="line-msg">
                      {line.display
                        ? ansiSegments(line.display).map((seg, i) => (
                            <span key={i} style={seg.fg || seg.bold ? { color: seg.fg, fontWeight: seg.bold ? "bold" : undefined } : undefined}>
                              <Marked text={seg.text} re={re} />
                            </span>
                          ))
                        : <Marked text={stripAnsi(line.message)} re={re} />}
                    </span>
                  </>
                ) : (
                  <span className="muted">…</span>
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
});

/** Text with the search's matches in <mark>. */
function Marked({ text, re }: { text: string; re: RegExp | null }) {
  if (!re) return <>{text}</>;
  return (
    <>
      {splitMatches(text, re).map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}
    </>
  );
}
