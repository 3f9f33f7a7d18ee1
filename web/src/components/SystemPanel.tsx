import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { getLatestMetrics, getSystemHistory, getSystemStatus } from "../api/client";
import type { GpuSample, Run, SystemSample } from "../api/types";
import { fmtBytes, fmtSystemValue, fmtTime } from "../lib/format";
import { useScheme } from "../layout/useScheme";
import { palette } from "../lib/theme";
import { Sparkline } from "./Sparkline";

const KEEP = 120;

/** A load's colour in the page's scheme (the light scheme's green is one that reads on white). */
function pctColor(v: number | undefined, p = palette()): string {
  if (v === undefined || !Number.isFinite(v)) return p.axis;
  return v >= 90 ? p.bad : v >= 70 ? p.warn : p.good;
}

function Bar({ label, value, history, detail }: { label: string; value: number | undefined; history: number[]; detail?: string }) {
  const v = typeof value === "number" && Number.isFinite(value) ? value : undefined;
  const filled = v === undefined ? 0 : Math.round(Math.min(100, Math.max(0, v)) / 10);
  const color = pctColor(v, palette(useScheme()));
  return (
    <div className="sysrow">
      <span className="syslabel">{label}</span>
      <span className="bar" style={{ color }}>
        {"█".repeat(filled)}
        <span className="dim">{"░".repeat(10 - filled)}</span>
      </span>
      <span className="num">{v === undefined ? "  —  " : `${v.toFixed(0).padStart(3)}%`}</span>
      <Sparkline values={history} color={color} />
      {detail && <span className="muted">{detail}</span>}
    </div>
  );
}

function num(s: SystemSample | GpuSample | undefined, k: string): number | undefined {
  const v = s?.[k];
  return typeof v === "number" ? v : undefined;
}

function gpuUtil(g: GpuSample): number | undefined {
  return num(g, "utilization") ?? num(g, "gpu_utilization") ?? num(g, "util");
}

function gpuMemPct(g: GpuSample): number | undefined {
  const used = num(g, "memory_used");
  const total = num(g, "memory_total");
  return used !== undefined && total ? (100 * used) / total : num(g, "memory_percent");
}

/** What a run's latest `sys/` values mean: live readings, or the last sample of a run that has ended. */
export function sampleNote(status: string | undefined, lastSample: number | null): string | null {
  if (lastSample === null) return null;
  if (status === "running") return `live · last sample ${fmtTime(lastSample)}`;
  return `run ${status ?? "ended"} — last sample, taken ${fmtTime(lastSample)}`;
}

export function SystemPanel({ runId, run }: { runId: string | undefined; run?: Run }) {
  const [history, setHistory] = useState<SystemSample[]>([]);
  const seeded = useRef(false);
  const status = useQuery({ queryKey: ["system"], queryFn: getSystemStatus, refetchInterval: 2000 });

  useEffect(() => {
    if (seeded.current) return;
    seeded.current = true;
    getSystemHistory()
      .then((h) => setHistory((cur) => (cur.length ? cur : h.slice(-KEEP))))
      .catch(() => undefined);
  }, []);
  useEffect(() => {
    const s = status.data;
    if (s) setHistory((h) => [...h, s].slice(-KEEP));
  }, [status.data]);

  const runSys = useQuery({
    queryKey: ["latest", runId],
    queryFn: () => getLatestMetrics(runId as string),
    enabled: !!runId,
    refetchInterval: 2000,
  });

  const s = status.data;
  const series = (k: string) => history.map((h) => num(h, k) ?? NaN);
  const gpus = s?.gpus ?? [];
  const runKeys = [...(runSys.data?.entries() ?? [])].filter(([k]) => k.startsWith("sys/"));
  const lastSample = runKeys.length ? Math.max(...runKeys.map(([, p]) => p.timestamp)) : null;
  const note = sampleNote(run?.status, lastSample);

  return (
    <div className="system">
      {status.isError && !s && <div className="error">system status unavailable</div>}
      {!s && !status.isError && status.isLoading && <div className="empty">loading…</div>}
      {s && (
        <>
          <div className="subhead">HOST</div>
          <Bar label="CPU" value={num(s, "cpu_percent")} history={series("cpu_percent")} />
          <Bar
            label="RAM"
            value={num(s, "ram_percent")}
            history={series("ram_percent")}
            detail={num(s, "ram_used") !== undefined ? `${fmtBytes(num(s, "ram_used"))}/${fmtBytes(num(s, "ram_total"))}` : undefined}
          />
          {gpus.length === 0 && <div className="muted sysrow">GPU  none detected</div>}
          {gpus.map((g, i) => (
            <div key={i}>
              <Bar
                label={`GPU${g.index ?? i}`}
                value={gpuUtil(g)}
                history={history.map((h) => {
                  const hg = h.gpus?.[i];
                  return hg ? (gpuUtil(hg) ?? NaN) : NaN;
                })}
                detail={num(g, "power_watts") !== undefined ? `${Math.round(num(g, "power_watts") ?? 0)}W` : undefined}
              />
              <Bar
                label="VRAM"
                value={gpuMemPct(g)}
                history={history.map((h) => {
                  const hg = h.gpus?.[i];
                  return hg ? (gpuMemPct(hg) ?? NaN) : NaN;
                })}
                detail={
                  num(g, "temperature_c") !== undefined
                    ? `${fmtBytes(num(g, "memory_used"))} · ${num(g, "temperature_c")}°C`
                    : undefined
                }
              />
            </div>
          ))}
        </>
      )}
      {runId && (
        <>
          <div className="subhead">RUN (sys/) · charted under sys/ in METRICS</div>
          {note && (
            <div className={run?.status === "running" ? "muted sys-note" : "orange sys-note"} data-testid="sys-sample-note">
              {note}
            </div>
          )}
          {runKeys.length === 0 && <div className="muted sysrow">no system metrics from this run</div>}
          <div className="kv">
            {runKeys.map(([k, p]) => (
              <div key={k} className="kvrow">
                <span className="muted">{k.slice(4)}</span>
                <span className="num">{fmtSystemValue(k, p.value)}</span>
              </div>
            ))}
          </div>
        </>
      )}
    </div>
  );
}
