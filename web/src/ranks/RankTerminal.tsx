// One rank's terminal: xterm.js following that rank's raw stream (`GET .../logs?rank=N`: offsets are the rank's
// own stream, read by offset, so every byte is written once and in order). It starts at most TAIL_BYTES before the
// rank's end and says so; only a mounted terminal follows (the grid mounts the visible page only).
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import { fmtBytes } from "../lib/format";
import { theme } from "../lib/theme";
import { getRankBytes, type RankRecord } from "./api";
import { rankState } from "./model";

/** History a rank terminal loads at most before following live. */
export const TAIL_BYTES = 64 * 1024;

declare global {
  interface Window {
    /** the rank terminals on screen, by rank (end-to-end tests and debugging) */
    trainboardRanks?: Map<number, Terminal>;
  }
}

/** How often a live rank's terminal asks for new bytes, and how many at most per request. */
export const POLL_MS = 1000;
const READ_BYTES = 256 * 1024;

export function RankTerminal({
  runId,
  record,
  big = false,
  live,
  onOpen,
}: {
  runId: string;
  record: RankRecord;
  big?: boolean;
  /** the run is running: keep asking for new bytes */
  live: boolean;
  onOpen?: (rank: number) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const [start] = useState(() => Math.max(0, record.bytes - TAIL_BYTES));
  const [state, setState] = useState<"live" | "done" | "reconnecting">(live ? "live" : "done");
  const rank = record.rank;
  const liveRef = useRef(live);
  liveRef.current = live;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const term = new Terminal({
      fontFamily: theme.font,
      fontSize: big ? 12 : 10,
      scrollback: 5000,
      convertEol: true,
      disableStdin: true,
      cursorBlink: false,
      theme: { background: theme.bg },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    const refit = () => {
      try {
        fit.fit();
      } catch {
        /* not laid out yet */
      }
    };
    refit();
    const resize = new ResizeObserver(refit);
    resize.observe(el);
    const shown = (window.trainboardRanks ??= new Map());
    shown.set(rank, term);

    let closed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offset = start;
    // Polling by offset, not one EventSource per terminal: a browser holds at most 6 HTTP/1.1 connections per
    // host, and 16 open streams would starve the page's other requests. Each read resumes exactly where the last
    // one ended (offsets of the rank's own stream).
    const poll = async () => {
      try {
        for (;;) {
          const page = await getRankBytes(runId, rank, offset, READ_BYTES);
          if (closed) return;
          if (page.bytes.length) {
            term.write(page.bytes);
            offset = page.offset + page.bytes.length;
          }
          setState("live");
          if (offset >= page.total) break;
        }
      } catch {
        if (!closed) setState("reconnecting");
      }
      if (closed) return;
      if (liveRef.current) timer = setTimeout(() => void poll(), POLL_MS);
      else setState("done");
    };
    void poll();
    return () => {
      closed = true;
      clearTimeout(timer);
      resize.disconnect();
      if (shown.get(rank) === term) shown.delete(rank);
      term.dispose();
    };
  }, [runId, rank, start, big]);

  const st = rankState(record);
  return (
    <div className={big ? "rank-term big" : "rank-term"} data-rank={rank}>
      <div className="rank-term-head">
        <button className="rank-name" onClick={() => onOpen?.(rank)} title={`open rank ${rank} alone`}>
          rank {rank}
        </button>
        {record.node && <span className="muted">{record.node}</span>}
        {record.local_rank !== null && record.local_rank !== undefined && (
          <span className="muted">local {record.local_rank}</span>
        )}
        {record.gpus && record.gpus.length > 0 && <span className="muted">gpu {record.gpus.join(",")}</span>}
        <span className={st.cls}>{st.text}</span>
        <span className="muted rank-bytes">
          {start > 0 ? `last ${fmtBytes(record.bytes - start)} of ${fmtBytes(record.bytes)}` : fmtBytes(record.bytes)}
          {state === "reconnecting" ? " · reconnecting" : ""}
        </span>
        {start > 0 && (
          <a href={`/api/runs/${encodeURIComponent(runId)}/logs?rank=${rank}`} title="the whole stream as a file">
            all
          </a>
        )}
      </div>
      <div className="rank-term-body" ref={host} />
    </div>
  );
}
