import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import { getLogBytes, getLogGeometry, getLogTail } from "../api/client";
import { live, type LiveState } from "../api/live";
import type { Run } from "../api/types";
import { ANSI_COLORS } from "../lib/ansi";
import { fmtBytes, fmtClock } from "../lib/format";
import { theme } from "../lib/theme";
import { timeline, useMoment } from "../timeline/moment";
import { followLog } from "./follow";
import { GeometryPlayer, fitRows, fitScale } from "./geometry";
import { ReplayScreen } from "./ReplayScreen";
import { HISTORY_TAIL_BYTES } from "./resume";
import { searchDecorations, searchStatus, type SearchResults } from "./search";
import { activateUnicode11 } from "./unicode";
import "./terminal.css";

/** While a run is live, how often its recorded terminal size is looked up again (a resize mid-run). */
const GEOMETRY_POLL_MS = 3000;
const NOTHING = new Uint8Array(0);

/** What the panel shows: the recorded size and the scale it is drawn at, or null when fitted to the panel. */
interface Shown {
  cols: number;
  rows: number;
  scale: number;
}

export interface TerminalHandle {
  focus(): void;
  focusSearch(): void;
}

type Phase = "loading" | "streaming" | "done" | "error";

const ANSI_NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"] as const;
const XTERM_THEME: Record<string, string> = {
  background: theme.bg,
  foreground: ANSI_COLORS[7] as string,
  cursor: theme.amber,
  cursorAccent: theme.bg,
  selectionBackground: "#44475a",
};
ANSI_NAMES.forEach((name, i) => {
  XTERM_THEME[name] = ANSI_COLORS[i] as string;
  XTERM_THEME[`bright${name[0]?.toUpperCase()}${name.slice(1)}`] = ANSI_COLORS[i + 8] as string;
});

/** The terminal's options, live and replayed alike. */
const TERMINAL_OPTIONS: ConstructorParameters<typeof Terminal>[0] = {
  theme: XTERM_THEME,
  fontFamily: theme.font,
  fontSize: 12,
  lineHeight: 1.1,
  scrollback: 20000,
  convertEol: true,
  disableStdin: true,
  cursorBlink: false,
  cursorStyle: "bar",
  cursorInactiveStyle: "none",
  allowProposedApi: true, // the search addon's result count ("n of m")
};

declare global {
  interface Window {
    /** handles for end-to-end tests and debugging */
    trainboard?: { terminal?: Terminal; replay?: Terminal; logOffset?: () => number };
  }
}

function indicator(run: Run, phase: Phase, stream: LiveState, exit: number | null | undefined) {
  if (phase === "error") return { text: "ERROR", cls: "red" };
  if (phase === "done" || run.status !== "running") {
    const code = exit !== undefined ? exit : run.exit_code;
    if (run.status === "interrupted") return { text: "■ Interrupted", cls: "orange" };
    if (code !== null && code !== undefined && code !== 0) return { text: `✗ Failed (exit ${code})`, cls: "red" };
    if (run.status === "failed") return { text: "✗ Failed", cls: "red" };
    if (phase === "done" || run.status === "completed") return { text: "✓ Completed", cls: "green" };
  }
  if (phase === "loading") return { text: "… loading", cls: "muted" };
  if (stream === "open") return { text: "● Live", cls: "green blink" };
  return { text: "… reconnecting", cls: "orange" };
}

/** Room for xterm's scrollbar beside the recorded screen. */
const SCROLLBAR_PX = 14;

/** The panel's inner size (without its padding). */
function contentBox(el: HTMLElement): { width: number; height: number } {
  const cs = getComputedStyle(el);
  const px = (v: string) => Number.parseFloat(v) || 0;
  return {
    width: el.clientWidth - px(cs.paddingLeft) - px(cs.paddingRight),
    height: el.clientHeight - px(cs.paddingTop) - px(cs.paddingBottom),
  };
}

export const TerminalPanel = forwardRef<TerminalHandle, { run: Run }>(function TerminalPanel({ run }, ref) {
  const host = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [actualSize, setActualSize] = useState(false);
  const actualSizeRef = useRef(false);
  const relayout = useRef<() => void>(() => undefined);
  // Bumped to draw the run again from its history: a terminal size learnt after the bytes it applies to.
  const [replays, setReplays] = useState(0);
  const term = useRef<Terminal | null>(null);
  const search = useRef<SearchAddon | null>(null);
  const searchInput = useRef<HTMLInputElement>(null);
  const [phase, setPhase] = useState<Phase>("loading");
  const [stream, setStream] = useState<LiveState>("closed");
  const [exit, setExit] = useState<number | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [truncated, setTruncated] = useState(0);
  const [autoScroll, setAutoScroll] = useState(true);
  const autoScrollRef = useRef(true);
  const heldLine = useRef(0);
  const [query, setQuery] = useState("");
  const [results, setResults] = useState<SearchResults | null>(null);
  const moment = useMoment(run.id);

  useImperativeHandle(ref, () => ({
    focus: () => term.current?.focus(),
    focusSearch: () => searchInput.current?.focus(),
  }));

  // Per run: a fresh terminal (so no write queued for the previous run can leak into it), fed with write():
  // history (from the end for large logs), then the live stream from the last byte offset.
  const runId = run.id;
  const logSize = useRef(run.log_size);
  logSize.current = run.log_size;
  const status = useRef(run.status);
  status.current = run.status;
  useEffect(() => {
    const el = host.current;
    const inner = screen.current;
    if (!el || !inner) return;
    setShown(null);
    let cancelled = false;
    setPhase("loading");
    setExit(undefined);
    setError(null);
    setTruncated(0);
    autoScrollRef.current = true;
    setAutoScroll(true);
    const t = new Terminal(TERMINAL_OPTIONS);
    const f = new FitAddon();
    const s = new SearchAddon();
    const offResults = s.onDidChangeResults((r) => setResults(r));
    t.loadAddon(f);
    t.loadAddon(s);
    activateUnicode11(t); // emoji and CJK two cells wide, as on the terminal the program wrote to
    t.open(inner);
    term.current = t;
    search.current = s;
    // A run with a recorded terminal size is replayed at that size (resized where the recording was) and
    // scaled down to fit the panel, so lines wrap and redraw exactly as on the source terminal; without
    // one, the terminal is fitted to the panel.
    const player = new GeometryPlayer();
    const geometry = getLogGeometry(runId)
      .then((g) => void player.update(g.sizes))
      .catch(() => undefined); // an older server: fit
    // The recorded size in effect (set when the replay reaches it); xterm has its columns and, when they fit
    // the panel at the scale that fits the columns, its rows.
    let recorded: { cols: number; rows: number } | null = null;
    const layout = () => {
      if (cancelled) return;
      if (!recorded) {
        inner.className = "terminal-screen";
        inner.style.cssText = "";
        setShown(null);
        try {
          if (el.clientWidth > 0 && el.clientHeight > 0) f.fit();
        } catch {
          /* not laid out yet */
        }
        return;
      }
      const xterm = inner.querySelector<HTMLElement>(".xterm-screen");
      if (!xterm || xterm.offsetWidth === 0 || t.cols === 0 || t.rows === 0) return;
      const cellWidth = xterm.offsetWidth / t.cols;
      const cellHeight = xterm.offsetHeight / t.rows;
      const width = t.cols * cellWidth + SCROLLBAR_PX;
      const box = contentBox(el);
      const scale = actualSizeRef.current ? 1 : fitScale(width, box.width);
      const rows = fitRows(recorded.rows, cellHeight * scale, box.height);
      if (rows !== t.rows) t.resize(t.cols, rows);
      inner.className = "terminal-screen recorded";
      inner.style.width = `${width}px`;
      inner.style.height = `${rows * cellHeight}px`;
      inner.style.transform = scale === 1 ? "" : `scale(${scale})`;
      const { cols, rows: recordedRows } = recorded;
      setShown((prev) =>
        prev && prev.cols === cols && prev.rows === recordedRows && prev.scale === scale
          ? prev
          : { cols, rows: recordedRows, scale },
      );
    };
    relayout.current = layout;
    layout();
    const ro = new ResizeObserver(layout);
    ro.observe(el);
    // xterm re-measures its cells when fonts load: the recorded screen's width follows
    const xtermScreen = inner.querySelector(".xterm-screen");
    if (xtermScreen) ro.observe(xtermScreen);
    // Scrolling up turns auto-scroll off; scrolling back to the bottom turns it on again.
    const onWheel = () =>
      requestAnimationFrame(() => {
        if (cancelled) return;
        const b = t.buffer.active;
        const atBottom = b.viewportY >= b.baseY;
        heldLine.current = b.viewportY;
        if (atBottom !== autoScrollRef.current) {
          autoScrollRef.current = atBottom;
          setAutoScroll(atBottom);
        }
      });
    el.addEventListener("wheel", onWheel, { passive: true });

    const written = () => {
      if (cancelled) return;
      if (autoScrollRef.current) t.scrollToBottom();
      else t.scrollToLine(heldLine.current);
    };
    const draw = (bytes: Uint8Array, start: number) => {
      // A fetch or stream event can land after this effect was cleaned up: never touch a disposed
      // terminal (xterm throws from its render service then).
      if (cancelled) return;
      for (const op of player.plan(bytes, start)) {
        if ("write" in op) {
          t.write(op.write, written);
        } else {
          // xterm parses writes later, in order: resize once the bytes before this point are parsed
          const { cols, rows } = op.resize;
          t.write(NOTHING, () => {
            if (cancelled) return;
            recorded = { cols, rows };
            t.resize(cols, rows);
            layout(); // the rows that fit the panel
          });
        }
      }
    };
    // No size known when the first bytes come (the page opened before the run printed anything): look once
    // more before drawing them, holding them (and what follows) meanwhile, so they are not drawn twice.
    let held: [Uint8Array, number][] | null = null;
    let lookedAgain = false;
    const write = (bytes: Uint8Array, start: number) => {
      if (held) {
        held.push([bytes, start]);
        return;
      }
      if (player.recorded || lookedAgain) {
        draw(bytes, start);
        return;
      }
      lookedAgain = true;
      held = [[bytes, start]];
      void getLogGeometry(runId)
        .then((g) => void player.update(g.sizes))
        .catch(() => undefined)
        .finally(() => {
          const queued = held ?? [];
          held = null;
          for (const [b, at] of queued) draw(b, at);
        });
    };
    // A live run's resize is learnt by polling, usually after some bytes at the new size were drawn at the
    // old one: those are then drawn again (a resize is rare; the replay is exact).
    const refreshGeometry = () =>
      getLogGeometry(runId)
        .then((g) => {
          if (!cancelled && player.update(g.sizes)) setReplays((n) => n + 1);
        })
        .catch(() => undefined);
    const poll = window.setInterval(() => {
      if (status.current === "running") void refreshGeometry();
    }, GEOMETRY_POLL_MS);
    const follower = followLog({
      // the first bytes are written once the recorded size is known
      fetchPage: async (offset, limit) => {
        await geometry;
        return getLogBytes(runId, offset, limit);
      },
      fetchTail: async (bytes) => {
        await geometry;
        return getLogTail(runId, bytes);
      },
      openStream: (offset, h, getOffset) => live.openLogStream(runId, offset, h, getOffset),
      write,
      sizeHint: logSize.current,
      onTruncated: (skipped) => {
        if (cancelled) return;
        setTruncated(skipped);
        t.write(`\x1b[90m… ${fmtBytes(skipped)} of earlier output not shown (RAW ⤓ has the full log)\x1b[0m\r\n`);
      },
      onHistoryLoaded: () => setPhase("streaming"),
      onDone: (code) => {
        setExit(code);
        setPhase("done");
        void refreshGeometry(); // a resize just before the end
      },
      onState: (st) => {
        if (!cancelled) setStream(st);
      },
      onError: (e) => {
        if (cancelled) return;
        setPhase("error");
        setError(e instanceof Error ? e.message : String(e));
      },
    });
    window.trainboard = { ...window.trainboard, terminal: t, logOffset: follower.offset };
    return () => {
      cancelled = true;
      window.clearInterval(poll);
      offResults.dispose();
      setResults(null);
      relayout.current = () => undefined;
      follower.close();
      el.removeEventListener("wheel", onWheel);
      ro.disconnect();
      t.dispose();
      if (term.current === t) term.current = null;
      if (window.trainboard?.terminal === t) window.trainboard.terminal = undefined;
    };
  }, [runId, replays]);

  const ind = indicator(run, phase, stream, exit);
  const find = (back = false, text = query, incremental = false) => {
    const s = search.current;
    if (!s) return;
    if (!text) {
      s.clearDecorations();
      setResults(null);
      return;
    }
    const opts = { decorations: searchDecorations, incremental };
    if (back) s.findPrevious(text, opts);
    else s.findNext(text, opts);
  };
  const searchText = searchStatus(query, results);

  return (
    <div className="terminal-wrap">
      <div className="toolbar">
        <span className={`indicator ${ind.cls}`} data-testid="log-indicator">
          {ind.text}
        </span>
        <button
          className={autoScroll ? "btn on" : "btn"}
          aria-pressed={autoScroll}
          onClick={() => {
            const next = !autoScroll;
            autoScrollRef.current = next;
            setAutoScroll(next);
            if (next) term.current?.scrollToBottom();
            else heldLine.current = term.current?.buffer.active.viewportY ?? 0;
          }}
          title="follow new output"
        >
          AUTO-SCROLL {autoScroll ? "ON" : "OFF"}
        </button>
        <input
          ref={searchInput}
          className="input"
          placeholder="search log…"
          value={query}
          aria-label="search terminal"
          onChange={(e) => {
            setQuery(e.target.value);
            find(false, e.target.value, true);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") find(e.shiftKey);
            if (e.key === "Escape") {
              search.current?.clearDecorations();
              setResults(null);
              term.current?.clearSelection();
              (e.target as HTMLInputElement).blur();
            }
          }}
        />
        <button className="btn" onClick={() => find(true)} title="previous match (shift+enter)">
          ▲
        </button>
        <button className="btn" onClick={() => find(false)} title="next match (enter)">
          ▼
        </button>
        {searchText && (
          <span className={searchText === "no matches" ? "orange" : "muted"} data-testid="search-count">
            {searchText}
          </span>
        )}
        {shown && (
          <button
            className={actualSize ? "btn on" : "btn"}
            aria-pressed={actualSize}
            data-testid="terminal-size"
            onClick={() => {
              actualSizeRef.current = !actualSize;
              setActualSize(!actualSize);
              requestAnimationFrame(() => relayout.current());
            }}
            title={
              actualSize
                ? "shown at full size (scroll sideways); click to fit the panel"
                : "the program's terminal size, scaled to fit the panel; click for full size"
            }
          >
            {shown.cols}×{shown.rows}
            {shown.scale < 1 ? ` ${Math.round(shown.scale * 100)}%` : ""}
          </button>
        )}
        {truncated > 0 && <span className="muted">showing the last {fmtBytes(HISTORY_TAIL_BYTES)}</span>}
        {error && <span className="red">log: {error}</span>}
        <a className="btn link" href={`/api/runs/${encodeURIComponent(runId)}/logs`} download={`${run.name}.log`}>
          RAW ⤓
        </a>
      </div>
      {moment && (
        <div className="moment-bar" role="status" data-testid="moment-bar">
          <span>
            ◆ viewing step <b>{moment.step}</b> at <b>{fmtClock(moment.time)}</b> ({moment.key})
          </span>
          <button className="btn on" onClick={() => timeline.set(null)} title="show the live terminal again (esc)">
            ⟲ back to live
          </button>
        </div>
      )}
      {moment && <ReplayScreen runId={runId} moment={moment} options={TERMINAL_OPTIONS} />}
      <div
        className={`${actualSize && shown ? "terminal scroll" : "terminal"}${moment ? " hidden" : ""}`}
        ref={host}
        tabIndex={-1}
        data-testid="terminal"
        data-cols={shown?.cols}
        data-rows={shown?.rows}
      >
        <div className="terminal-screen" ref={screen} />
      </div>
    </div>
  );
});
