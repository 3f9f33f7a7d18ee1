// /compare?runs=a,b,c: the runs' metrics overlaid (full names in legend and readout), the config keys that
// differ, parallel coordinates of config keys against a metric, and each run's tags and notes.
import { useQuery } from "@tanstack/react-query";
import { useCallback, useMemo, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { epochSeconds } from "../api/wire";
import { joinOnX } from "../charts/adapters";
import type { RunMetrics } from "../charts/store";
import { HelpOverlay } from "../components/HelpOverlay";
import { StatusBadge } from "../components/StatusBadge";
import { TopBar } from "../components/TopBar";
import { queryRuns, runsByIds, type ExpRun } from "./api";
import { flattenConfig, type MetricStat } from "./columns";
import { configDiff, fmtScalar } from "./diff";
import { ParallelCoords } from "./ParallelCoords";
import { RunMeta } from "./RunMeta";
import { URL_IDS, compareHref, loadSelection } from "./savedSelection";
import { onStoresChange, useRunStores } from "../charts/useRunStores";
import { clockKey, orderKeys, overlayAxis, overlaySeries } from "./overlay";
import { XpChart, type LineSpec } from "./XpChart";
import { XpNav } from "./XpNav";
import { colorAt, dashAt, useScheme } from "./palette";
import "./experiments.css";

export function parseRunIds(param: string | null): string[] {
  return [...new Set((param ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
}

function OverlayChart({ metricKey, runs, stores }: { metricKey: string; runs: ExpRun[]; stores: RunMetrics[] }) {
  const scheme = useScheme();
  const lines: LineSpec[] = runs.map((r, i) => ({ label: r.name, color: colorAt(scheme, i), dash: dashAt(scheme, i) }));
  const starts = runs.map((r) => epochSeconds(r.start_time)).join(",");
  const clock = clockKey(metricKey, stores.map((s) => s.series.get(metricKey)));
  const data = useCallback(
    () =>
      joinOnX(
        stores.map((s, i) => {
          const p = s.series.get(metricKey);
          const { x, y } = overlaySeries(metricKey, p, epochSeconds(runs[i]?.start_time), clock);
          return { x, ys: [y] };
        }),
      ),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [stores, metricKey, starts, clock],
  );
  const subscribe = useCallback((cb: () => void) => onStoresChange(stores, cb), [stores]);
  return <XpChart title={metricKey} lines={lines} data={data} subscribe={subscribe} {...overlayAxis(metricKey, clock)} />;
}

export function ComparePage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  // a long selection comes as the key of one kept in this browser (savedSelection); null: that key is unknown here
  const selKey = params.get("sel");
  const saved = useMemo(() => (selKey ? loadSelection(selKey) : null), [selKey]);
  const ids = useMemo(() => (selKey ? (saved?.ids ?? []) : parseRunIds(params.get("runs"))), [params, selKey, saved]);
  const [help, setHelp] = useState(false);
  const scheme = useScheme();
  const [keyFilter, setKeyFilter] = useState("");
  const [brushed, setBrushed] = useState<Set<string> | null>(null);
  const runsQ = useQuery({ queryKey: ["xp", "by-id", ids], queryFn: () => runsByIds(ids), refetchInterval: 5000 });
  const runs = useMemo(() => runsQ.data ?? [], [runsQ.data]);
  const missing = runsQ.data ? ids.filter((id) => !runs.some((r) => r.id === id)) : [];
  const stores = useRunStores(runs.map((r) => r.id));
  const colorOf = useCallback(
    (id: string) => {
      const i = runs.findIndex((r) => r.id === id);
      return i >= 0 ? (colorAt(scheme, i)) : undefined;
    },
    [runs, scheme],
  );
  const keys = orderKeys(stores.flatMap((s) => s.keys()));
  const shown = keyFilter ? keys.filter((k) => k.toLowerCase().includes(keyFilter.toLowerCase())) : keys;
  const diff = useMemo(() => configDiff(runs.map((r) => r.config)), [runs]);
  const allConfigKeys = useMemo(() => {
    const s = new Set<string>();
    for (const r of runs) for (const k of Object.keys(flattenConfig(r.config ?? {}))) s.add(k);
    return [...s].sort();
  }, [runs]);
  const pcKeys = diff.length ? diff.map((d) => d.key) : allConfigKeys;
  const metricValue = useCallback(
    (r: ExpRun, key: string, stat: MetricStat): number | null => {
      const s = r.metrics?.[key]?.[stat];
      if (s !== undefined && s !== null) return s;
      // no server summary: from the loaded series
      const p = stores.find((x) => x.runId === r.id)?.series.get(key);
      if (!p || p.value.length === 0) return null;
      const fin = p.value.filter(Number.isFinite);
      if (!fin.length) return null;
      return stat === "last" ? (fin.at(-1) as number) : stat === "min" ? Math.min(...fin) : Math.max(...fin);
    },
    [stores],
  );
  const loading = runsQ.isLoading;

  return (
    <div className="app xp-page scrolls">
      <TopBar total={runs.length} running={runs.filter((r) => r.status === "running").length} onHelp={() => setHelp(true)} />
      <XpNav />
      {selKey && !saved ? (
        <div className="xp-main">
          <div className="red" role="alert" data-testid="selection-unknown">
            this comparison was a selection of more than {URL_IDS} runs kept in another browser (or pruned from this one): its
            ids are not in this address. Select the runs again in the <Link to="/table">TABLE</Link>, or narrow the table
            with a filter.
          </div>
        </div>
      ) : ids.length === 0 ? (
        <ComparePicker onPick={(sel) => navigate(compareHref(sel))} />
      ) : (
        <div className="xp-main">
          <section className="xp-section" aria-label="compared runs">
            <h2>
              COMPARING {runs.length} RUNS{runs.length !== ids.length && runsQ.data ? ` (${ids.length} asked)` : ""}
            </h2>
            {saved && (
              <div className="muted small" data-testid="selection-note">
                a selection of {ids.length.toLocaleString("en-US")} runs (more than an address holds: {URL_IDS}) kept in this
                browser since {new Date(saved.saved).toLocaleString()}: this link opens it here only
              </div>
            )}
            <div
              className="xp-section-body xp-legend"
              data-testid="compare-legend"
              style={runs.length > 24 ? { maxHeight: 180, overflowY: "auto" } : undefined}
            >
              {runs.map((r, i) => (
                <span key={r.id} className="xp-legend-item" data-run-id={r.id}>
                  <span className="xp-swatch" style={{ background: colorAt(scheme, i) }} />
                  <Link to={`/runs/${encodeURIComponent(r.id)}`} className="xp-runlink">
                    {r.name}
                  </Link>
                  <StatusBadge status={r.status} />
                  <button
                    className="xp-x"
                    aria-label={`remove ${r.name} from the comparison`}
                    title="remove from the comparison"
                    onClick={() => navigate(compareHref(ids.filter((x) => x !== r.id)))}
                  >
                    ×
                  </button>
                </span>
              ))}
              {loading && <span className="muted">loading…</span>}
              {missing.length > 0 && <span className="red">not found: {missing.join(", ")}</span>}
              {runsQ.isError && <span className="red">cannot load the runs: {(runsQ.error as Error).message}</span>}
            </div>
          </section>
          <section className="xp-section" aria-label="metrics overlaid">
            <h2>METRICS</h2>
            <div className="xp-section-body">
              <div className="toolbar">
                <input
                  className="input grow"
                  placeholder="filter charts by key (e.g. val/)"
                  aria-label="filter charts"
                  value={keyFilter}
                  onChange={(e) => setKeyFilter(e.target.value)}
                />
                <span className="muted small">raw values, one colour per run · {shown.length}/{keys.length} keys</span>
              </div>
              {stores.some((s) => s.loading) && keys.length === 0 ? (
                <div className="empty">loading metrics…</div>
              ) : keys.length === 0 ? (
                <div className="empty">these runs have no metrics</div>
              ) : (
                <div className="xp-charts">
                  {shown.map((k) => (
                    <OverlayChart key={k} metricKey={k} runs={runs} stores={stores} />
                  ))}
                </div>
              )}
            </div>
          </section>
          <section className="xp-section" aria-label="config diff">
            <h2>CONFIG DIFF · {diff.length} of {allConfigKeys.length} keys differ</h2>
            <div className="xp-section-body xp-scroll-x">
              {runs.length < 2 ? (
                <div className="muted">add a second run to see what differs</div>
              ) : diff.length === 0 ? (
                <div className="muted">the configs are identical</div>
              ) : (
                <ConfigDiffTable runs={runs} diff={diff} colorOf={(i) => colorAt(scheme, i)} only={brushed} />
              )}
            </div>
          </section>
          <section className="xp-section" aria-label="parallel coordinates">
            <h2>PARALLEL COORDINATES</h2>
            <div className="xp-section-body">
              {runs.length === 0 || keys.length === 0 ? (
                <div className="muted">needs runs with metrics</div>
              ) : (
                <ParallelCoords runs={runs} configKeys={pcKeys} metricKeys={keys} colorOf={colorOf} metricValue={metricValue} onBrush={setBrushed} />
              )}
            </div>
          </section>
          <section className="xp-section" aria-label="tags and notes">
            <h2>TAGS AND NOTES</h2>
            <div className="xp-section-body xp-metas">
              {runs.map((r) => (
                <RunMeta
                  key={r.id}
                  run={r}
                  onDeleted={(id) => navigate(compareHref(ids.filter((x) => x !== id)))}
                />
              ))}
            </div>
          </section>
        </div>
      )}
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
    </div>
  );
}

/** Nothing chosen yet: the newest runs to tick, and the way the table does it. */
function ComparePicker({ onPick }: { onPick(ids: string[]): void }) {
  const [sel, setSel] = useState<string[]>([]);
  const q = useQuery({ queryKey: ["xp", "recent"], queryFn: () => queryRuns({ limit: 50 }) });
  return (
    <div className="xp-main">
      <section className="xp-section">
        <h2>COMPARE RUNS</h2>
        <div className="xp-section-body">
          <p className="muted">
            Tick runs here, or in the <Link to="/table">TABLE</Link> (space selects, c compares) or in the live run list
            (the ☐ before a name).
          </p>
          <div className="toolbar">
            <button className="btn" disabled={sel.length === 0} onClick={() => onPick(sel)}>
              COMPARE {sel.length} →
            </button>
          </div>
          {(q.data?.runs ?? []).map((r) => (
            <label key={r.id} className="xp-pick" style={{ display: "flex" }}>
              <input
                type="checkbox"
                checked={sel.includes(r.id)}
                onChange={() => setSel((s) => (s.includes(r.id) ? s.filter((x) => x !== r.id) : [...s, r.id]))}
              />
              <StatusBadge status={r.status} /> {r.name} <span className="muted">{r.project}</span>
            </label>
          ))}
          {q.isError && <div className="red">{(q.error as Error).message}</div>}
        </div>
      </section>
    </div>
  );
}

/** Runs side by side: a column per run up to TRANSPOSE_AT runs; past that a row per run and a column per
 * differing key (only those), scrolling both ways with the header and the run names kept in view. */
const TRANSPOSE_AT = 6;

function ConfigDiffTable({
  runs: all,
  diff: allDiff,
  colorOf,
  only,
}: {
  runs: ExpRun[];
  diff: ReturnType<typeof configDiff>;
  colorOf(i: number): string;
  /** the runs brushed in the parallel coordinates (null: all) */
  only: Set<string> | null;
}) {
  // brushed: only those runs, keeping each run's colour (its index among all)
  const keep = all.map((r, i) => [r, i] as const).filter(([r]) => !only || only.has(r.id));
  const runs = keep.map(([r]) => r);
  const diff = allDiff.map((d) => ({ ...d, values: keep.map(([, i]) => d.values[i]) }));
  const colour = (i: number) => colorOf(keep[i]?.[1] ?? i);
  const note = only ? (
    <div className="muted small" data-testid="config-diff-brushed">
      {runs.length} of {all.length} runs: those brushed in the parallel coordinates
    </div>
  ) : null;
  if (runs.length <= TRANSPOSE_AT && all.length <= TRANSPOSE_AT) {
    return (
      <>
      {note}
      <table className="xp-table" data-testid="config-diff">
        <thead>
          <tr>
            <th>key</th>
            {runs.map((r, i) => (
              <th key={r.id} style={{ color: colour(i) }}>
                {r.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {diff.map((d) => (
            <tr key={d.key} data-key={d.key}>
              <td className="amber">{d.key}</td>
              {d.values.map((v, i) => (
                <td key={i} className={v === undefined ? "muted" : undefined}>
                  {fmtScalar(v)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </>
    );
  }
  const sticky = { position: "sticky", background: "var(--bg-panel, #111)", zIndex: 1 } as const;
  return (
    <>
    {note}
    <div style={{ maxHeight: 420, overflow: "auto" }} data-testid="config-diff-scroll">
      <table className="xp-table" data-testid="config-diff" data-transposed="true">
        <thead>
          <tr>
            <th style={{ ...sticky, top: 0, left: 0, zIndex: 2 }}>run</th>
            {diff.map((d) => (
              <th key={d.key} className="amber" data-key={d.key} style={{ ...sticky, top: 0 }}>
                {d.key}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((r, i) => (
            <tr key={r.id} data-run-id={r.id}>
              <td style={{ ...sticky, left: 0, color: colour(i) }}>{r.name}</td>
              {diff.map((d) => {
                const v = d.values[i];
                return (
                  <td key={d.key} className={v === undefined ? "muted" : undefined}>
                    {fmtScalar(v)}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    </>
  );
}
