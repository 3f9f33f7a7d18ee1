import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { useEffect, useRef, useState } from "react";
import { getLogBytes, getLogGeometry } from "../api/client";
import { fmtBytes, fmtClock } from "../lib/format";
import type { Moment } from "../timeline/moment";
import { offsetAt, replayRange } from "../timeline/replay";
import { GeometryPlayer, fitScale } from "./geometry";
import { activateUnicode11 } from "./unicode";

const PAGE = 1024 * 1024;
const SCROLLBAR_PX = 14;

/**
 * The terminal's screen as it was at a moment: the raw bytes up to the offset the log had reached then,
 * written into a fresh terminal at the recorded size (scaled to fit), as asciinema's player seeks.
 */
export function ReplayScreen({ runId, moment, options }: { runId: string; moment: Moment; options: ConstructorParameters<typeof Terminal>[0] }) {
  const host = useRef<HTMLDivElement>(null);
  const screen = useRef<HTMLDivElement>(null);
  const [note, setNote] = useState("replaying…");

  useEffect(() => {
    const el = host.current;
    const inner = screen.current;
    if (!el || !inner) return;
    let cancelled = false;
    const t = new Terminal({ ...options, scrollback: 5000 });
    const fit = new FitAddon();
    t.loadAddon(fit);
    activateUnicode11(t); // the same widths as the live terminal
    t.open(inner);
    window.trainboard = { ...window.trainboard, replay: t };
    let fitted = false;
    const layout = () => {
      if (fitted) return; // fitted to the panel: nothing to scale
      const xterm = inner.querySelector<HTMLElement>(".xterm-screen");
      if (!xterm || xterm.offsetWidth === 0) return;
      const scale = fitScale(xterm.offsetWidth + SCROLLBAR_PX, el.clientWidth - 6);
      inner.style.transform = scale === 1 ? "" : `scale(${scale})`;
    };
    const ro = new ResizeObserver(layout);
    ro.observe(el);
    void (async () => {
      try {
        const [at, geometry] = await Promise.all([offsetAt(runId, moment.time), getLogGeometry(runId).catch(() => ({ sizes: [] }))]);
        const { start, end } = replayRange(at);
        const player = new GeometryPlayer(geometry.sizes);
        if (!player.recorded) {
          // no recorded size: fitted to the panel, as the live terminal is
          inner.className = "terminal-screen";
          fitted = true;
          try {
            fit.fit();
          } catch {
            /* not laid out */
          }
        }
        if (start > 0) t.write(`\x1b[90m… ${fmtBytes(start)} of earlier output not replayed\x1b[0m\r\n`);
        for (let pos = start; pos < end && !cancelled; ) {
          const page = await getLogBytes(runId, pos, Math.min(PAGE, end - pos));
          if (cancelled || page.bytes.length === 0) break;
          for (const op of player.plan(page.bytes, page.offset)) {
            if ("write" in op) t.write(op.write);
            else t.write(new Uint8Array(0), () => void (cancelled || (t.resize(op.resize.cols, op.resize.rows), layout())));
          }
          pos = page.offset + page.bytes.length;
        }
        t.write(new Uint8Array(0), () => {
          if (cancelled) return;
          t.scrollToBottom();
          layout();
          el.dataset.replayed = String(end);
          setNote(
            at.chunk_time === null
              ? "nothing was printed yet at that moment"
              : `${fmtBytes(end)} replayed · last output at ${fmtClock(at.chunk_time)}`,
          );
        });
      } catch (e) {
        if (!cancelled) setNote(`replay failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
    return () => {
      cancelled = true;
      ro.disconnect();
      t.dispose();
      if (window.trainboard?.replay === t) window.trainboard.replay = undefined;
    };
  }, [runId, moment.time, options]);

  return (
    <div className="replay" ref={host} data-testid="terminal-replay">
      <div className="terminal-screen recorded" ref={screen} />
      <div className="replay-note muted">{note}</div>
    </div>
  );
}
