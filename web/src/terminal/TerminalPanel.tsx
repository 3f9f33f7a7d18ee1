import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { forwardRef, useEffect, useImperativeHandle, useRef, useState } from "react";
import { getLogBytes, getLogTail } from "../api/client";
import { live, type LiveState } from "../api/live";
import type { Run } from "../api/types";
import { ANSI_COLORS } from "../lib/ansi";
import { fmtBytes } from "../lib/format";
import { theme } from "../lib/theme";
import { followLog } from "./follow";
import { HISTORY_TAIL_BYTES } from "./resume";

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

declare global {
  interface Window {
    /** handles for end-to-end tests and debugging */
    trainboard?: { terminal?: Terminal; logOffset?: () => number };
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

export const TerminalPanel = forwardRef<TerminalHandle, { run: Run }>(function TerminalPanel({ run }, ref) {
  const host = useRef<HTMLDivElement>(null);
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

  useImperativeHandle(ref, () => ({
    focus: () => term.current?.focus(),
    focusSearch: () => searchInput.current?.focus(),
  }));

  // Per run: a fresh terminal (so no write queued for the previous run can leak into it), fed with write():
  // history (from the end for large logs), then the live stream from the last byte offset.
  const runId = run.id;
  const logSize = useRef(run.log_size);
  logSize.current = run.log_size;
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    setPhase("loading");
    setExit(undefined);
    setError(null);
    setTruncated(0);
    autoScrollRef.current = true;
    setAutoScroll(true);
    const t = new Terminal({
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
    });
    const f = new FitAddon();
    const s = new SearchAddon();
    t.loadAddon(f);
    t.loadAddon(s);
    t.open(el);
    term.current = t;
    search.current = s;
    const refit = () => {
      try {
        if (el.clientWidth > 0 && el.clientHeight > 0) f.fit();
      } catch {
        /* not laid out yet */
      }
    };
    refit();
    const ro = new ResizeObserver(refit);
    ro.observe(el);
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

    let cancelled = false;
    const write = (bytes: Uint8Array) => {
      // A fetch or stream event can land after this effect was cleaned up: never touch a disposed
      // terminal (xterm throws from its render service then).
      if (cancelled) return;
      t.write(bytes, () => {
        if (cancelled) return;
        if (autoScrollRef.current) t.scrollToBottom();
        else t.scrollToLine(heldLine.current);
      });
    };
    const follower = followLog({
      fetchPage: (offset, limit) => getLogBytes(runId, offset, limit),
      fetchTail: (bytes) => getLogTail(runId, bytes),
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
      follower.close();
      el.removeEventListener("wheel", onWheel);
      ro.disconnect();
      t.dispose();
      if (term.current === t) term.current = null;
      if (window.trainboard?.terminal === t) window.trainboard.terminal = undefined;
    };
  }, [runId]);

  const ind = indicator(run, phase, stream, exit);
  const find = (back = false) => {
    if (!query || !search.current) return;
    if (back) search.current.findPrevious(query);
    else search.current.findNext(query);
  };

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
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") find(e.shiftKey);
            if (e.key === "Escape") {
              search.current?.clearDecorations();
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
        {truncated > 0 && <span className="muted">showing the last {fmtBytes(HISTORY_TAIL_BYTES)}</span>}
        {error && <span className="red">log: {error}</span>}
        <a className="btn link" href={`/api/runs/${encodeURIComponent(runId)}/logs`} download={`${run.name}.log`}>
          RAW ⤓
        </a>
      </div>
      <div className="terminal" ref={host} tabIndex={-1} data-testid="terminal" />
    </div>
  );
});
