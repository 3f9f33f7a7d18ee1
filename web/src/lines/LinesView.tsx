import { useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { forwardRef, useCallback, useEffect, useImperativeHandle, useMemo, useRef, useState } from "react";
import { clearLogs, getLogLines, getLogSummary, logDownloadUrl, type LineFilters } from "../api/client";
import type { LogLine } from "../api/types";
import { addBookmark } from "../bookmarks/api";
import { permalinkUrl } from "../bookmarks/permalink";
import type { PermalinkTarget } from "../bookmarks/usePermalink";
import { fmtClock } from "../lib/format";
import { useDebounced } from "../lib/useDebounced";
import { timeline, useMoment } from "../timeline/moment";
import { matcher } from "./highlight";
import { LineRow, type RowActions } from "./LineRow";
import { levelChoices, levelClass } from "./levels";
import "./lines.css";
import { momentRows } from "./momentLines";
import type { AnyLine } from "./structured";
import { classify, libraryFolds, type Fold, type TraceRow } from "./traceback";

const PAGE = 500;
const ROW = 16;

/** What the view adds to a loaded row: its traceback role and, on a fold's first row, the fold. */
interface Decor {
  trace: TraceRow | null;
  fold?: Fold;
  /** folded away (a library frame inside a closed fold) */
  hidden: boolean;
}

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

interface Props {
  runId: string;
  running: boolean;
  /** a permalink's place: its line is scrolled to and highlighted (filters off: the index is unfiltered) */
  target?: PermalinkTarget | null;
  onLeaveTarget?: () => void;
}

export const LinesView = forwardRef<LinesHandle, Props>(function LinesView({ runId, running, target = null, onLeaveTarget }, ref) {
  const qc = useQueryClient();
  const [level, setLevel] = useState("");
  const [source, setSource] = useState("");
  const [searchText, setSearchText] = useState("");
  const [regex, setRegex] = useState(false);
  const [paused, setPaused] = useState(false);
  const [follow, setFollow] = useState(true);
  const [note, setNote] = useState<string | null>(null);
  const [bookmarking, setBookmarking] = useState<number | null>(null); // the line a note is being written for
  const [bookmarkNote, setBookmarkNote] = useState("");
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
  const [openFolds, setOpenFolds] = useState<Set<number>>(() => new Set()); // first line numbers of open folds
  const [expanded, setExpanded] = useState<Set<number>>(() => new Set()); // line numbers with their field table open
  const decor = useRef(new Map<number, Decor>());
  const fieldRows = useRef(new Map<number, number>()); // index -> rows of its open field table
  const sizeOf = useCallback((i: number) => {
    if (decor.current.get(i)?.hidden) return 0;
    return ROW * (1 + (fieldRows.current.get(i) ?? 0));
  }, []);
  const v = useVirtualizer({
    count: total,
    getScrollElement: () => scroller.current,
    estimateSize: sizeOf,
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
  const rowAt = (i: number): AnyLine | undefined => {
    const pi = pages.indexOf(Math.floor(i / PAGE));
    return pageQueries[pi]?.data?.lines[i % PAGE];
  };

  // tracebacks of the loaded pages: each row's role, library frames folded (unless opened); row sizes follow
  const loaded = pageQueries.map((q) => q.data?.lines);
  const decorKey = useMemo(() => {
    const next = new Map<number, Decor>();
    const sizes = new Map<number, number>();
    pages.forEach((p, pi) => {
      const lines = loaded[pi] as AnyLine[] | undefined;
      if (!lines) return;
      const trace = classify(lines.map((l) => l.message));
      trace.forEach((t, j) => t && next.set(p * PAGE + j, { trace: t, hidden: false }));
      for (const f of libraryFolds(trace)) {
        const open = openFolds.has((lines[f.start] as AnyLine).line_number);
        next.set(p * PAGE + f.start, { trace: trace[f.start] ?? null, fold: f, hidden: false });
        if (!open) for (let j = f.start + 1; j <= f.end; j++) next.set(p * PAGE + j, { trace: trace[j] ?? null, hidden: true });
      }
      lines.forEach((l, j) => {
        if (expanded.has(l.line_number) && l.fields) sizes.set(p * PAGE + j, Object.keys(l.fields).length + 1);
      });
    });
    decor.current = next;
    fieldRows.current = sizes;
    return [...next].filter(([, d]) => d.hidden).map(([i]) => i).join(",") + "|" + [...sizes].join(",");
  }, [pages, loaded, openFolds, expanded]);
  useEffect(() => v.measure(), [decorKey, v]);

  // a permalink: filters off (its index counts every stored line), following stops, its line in view
  const targetIndex = target?.index ?? null;
  useEffect(() => {
    if (targetIndex === null) return;
    setLevel("");
    setSource("");
    setSearchText("");
    setFollow(false);
  }, [targetIndex]);
  const unfiltered = !level && !source && !search;
  useEffect(() => {
    if (targetIndex === null || !unfiltered || total <= targetIndex) return;
    v.scrollToIndex(targetIndex, { align: "center" });
  }, [targetIndex, unfiltered, total, v]);
  // tail -f: stay at the end while following
  useEffect(() => {
    if (follow && total > 0 && !moment && targetIndex === null) v.scrollToIndex(total - 1, { align: "end" });
  }, [follow, total, v, moment, targetIndex]);
  // a marked moment: its lines in view (and following stops until back to live)
  useEffect(() => {
    if (!mark || targetIndex !== null) return;
    setFollow(false);
    v.scrollToIndex(mark.last, { align: "center" });
  }, [mark, v, targetIndex]);
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
  // the levels present, ordered by value (a custom level's value from the lines that carry it)
  const seenNos = useRef<Record<string, number>>({});
  for (const page of loaded) for (const l of (page ?? []) as AnyLine[]) if (typeof l.level_no === "number") seenNos.current[l.level] = l.level_no;
  const choices = levelChoices(levels, seenNos.current);

  const actions: RowActions = {
    onCopyLink: (line) => {
      const url = permalinkUrl(runId, { line: line.line_number });
      const copied = navigator.clipboard ? navigator.clipboard.writeText(url) : Promise.reject(new Error("no clipboard"));
      // without clipboard access (an insecure origin, a denied permission) the link is shown to copy by hand
      copied.then(
        () => setNote(`link to line ${line.line_number} copied`),
        () => setNote(`link: ${url}`),
      );
    },
    onBookmark: (line) => {
      setBookmarking(line.line_number);
      setBookmarkNote("");
    },
    onToggleFold: (_fold, at) =>
      setOpenFolds((s) => {
        const n = new Set(s);
        if (n.has(at)) n.delete(at);
        else n.add(at);
        return n;
      }),
    onToggleFields: (ln) =>
      setExpanded((s) => {
        const n = new Set(s);
        if (n.has(ln)) n.delete(ln);
        else n.add(ln);
        return n;
      }),
  };

  const saveBookmark = async (lineNumber: number) => {
    try {
      await addBookmark(runId, { line_number: lineNumber, note: bookmarkNote });
      setNote(`line ${lineNumber} bookmarked`);
      setBookmarking(null);
    } catch (e) {
      setNote(`bookmark failed: ${(e as Error).message}`);
    }
    void qc.invalidateQueries({ queryKey: ["bookmarks", runId] });
  };

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
          {choices.map((c, i) => (
            <option key={c.name} value={c.name.toLowerCase()} data-level-no={c.no ?? undefined}>
              {c.name.toUpperCase()}
              {i < choices.length - 1 ? "+" : ""}
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
        {choices.map(({ name: l, no, count: n }) => (
          <button
            key={l}
            className={`chip ${levelClass(l, no)}`}
            title={`show this level and above${no === null ? "" : ` (level ${no})`}`}
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
        {note && (
          <span className="orange" data-testid="lines-note">
            {note}
          </span>
        )}
        {moment && (
          <span className="amber" data-testid="lines-moment">
            ◆ step {moment.step} at {fmtClock(moment.time)}:{" "}
            {!mark ? (marked.isLoading ? "finding its output…" : "nothing printed yet") : mark.exact ? `${mark.last - mark.first + 1} line(s) printed during it` : "printed nothing; the line before is marked"}{" "}
            <button className="btn on" onClick={() => timeline.set(null)} title="follow the live output again">
              ⟲ back to live
            </button>
          </span>
        )}
        {target && (
          <span className="amber" data-testid="lines-permalink">
            linked: {target.lineNumber === null ? "no stored line" : `line ${target.lineNumber}`}
            {target.why ? <span className="muted"> — {target.why}</span> : null}{" "}
            {!unfiltered && <span className="orange">(filtered: clear the filters to see it) </span>}
            <button className="btn" onClick={() => onLeaveTarget?.()} title="leave the linked place">
              ✕
            </button>
          </span>
        )}
        {bookmarking !== null && (
          <form
            className="bookmark-form"
            data-testid="bookmark-form"
            onSubmit={(e) => {
              e.preventDefault();
              void saveBookmark(bookmarking);
            }}
          >
            ☆ bookmark line {bookmarking}:{" "}
            <input
              className="input"
              autoFocus
              maxLength={2000}
              placeholder="a note (optional)"
              aria-label="bookmark note"
              value={bookmarkNote}
              onChange={(e) => setBookmarkNote(e.target.value)}
              onKeyDown={(e) => e.key === "Escape" && setBookmarking(null)}
            />{" "}
            <button className="btn on" type="submit">
              SAVE
            </button>{" "}
            <button className="btn" type="button" onClick={() => setBookmarking(null)}>
              cancel
            </button>
          </form>
        )}
        {first.isError && <span className="red">lines: {(first.error as Error).message}</span>}
      </div>
      <div className="lines-scroll" ref={scroller} onScroll={onScroll} data-testid="lines">
        {total === 0 && !first.isLoading && <div className="empty">no log lines{level || source || search ? " match" : ""}</div>}
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {items.map((it) => {
            const line = rowAt(it.index);
            const d = decor.current.get(it.index);
            if (d?.hidden) return null;
            const inMoment = targetIndex === null && mark !== null && it.index >= mark.first && it.index <= mark.last;
            const linked = targetIndex === it.index && unfiltered && line !== undefined;
            const provisional = isProvisional(line);
            const foldAt = d?.fold && line ? line.line_number : null;
            return (
              <div
                key={it.key}
                className={`line${provisional ? " provisional" : ""}${inMoment ? " at-moment" : ""}${linked ? " permalink" : ""}`}
                data-moment={inMoment ? (mark.exact ? "step" : "before") : undefined}
                data-permalink={linked ? "true" : undefined}
                data-line={line?.line_number}
                title={provisional ? "open line: may still change (a bar being redrawn, or the last line so far)" : undefined}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: it.size, transform: `translateY(${it.start}px)` }}
                data-level={line?.level}
              >
                {line ? (
                  <LineRow
                    runId={runId}
                    line={line}
                    re={re}
                    provisional={provisional}
                    trace={d?.trace ?? null}
                    fold={d?.fold && foldAt !== null ? { fold: d.fold, at: foldAt, open: openFolds.has(foldAt) } : undefined}
                    expanded={expanded.has(line.line_number)}
                    actions={actions}
                  />
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
