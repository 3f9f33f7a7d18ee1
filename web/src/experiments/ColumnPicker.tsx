// The column picker: fixed columns, every flattened config key, every metric's last / min / max.
import { useEffect, useMemo, useState } from "react";
import { FIXED_COLUMNS, columnLabel, configColumn, metricColumn, type ColumnId, type MetricStat } from "./columns";

interface Props {
  configKeys: string[];
  metricKeys: string[];
  columns: ColumnId[];
  onChange(columns: ColumnId[]): void;
  onClose(): void;
}

const STATS: MetricStat[] = ["last", "min", "max"];

export function ColumnPicker({ configKeys, metricKeys, columns: shown, onChange, onClose }: Props) {
  const [q, setQ] = useState("");
  // the boxes answer at once; the table (its address, a navigation React may defer) follows
  const [columns, setColumns] = useState(shown);
  useEffect(() => setColumns(shown), [shown]);
  const on = useMemo(() => new Set(columns), [columns]);
  const match = (s: string) => !q || s.toLowerCase().includes(q.toLowerCase());
  const toggle = (id: ColumnId) => {
    const next = on.has(id) ? columns.filter((c) => c !== id) : [...columns, id];
    setColumns(next);
    onChange(next);
  };
  const box = (id: ColumnId, label = columnLabel(id)) => (
    <label key={id} className="xp-pick">
      <input type="checkbox" checked={on.has(id)} onChange={() => toggle(id)} aria-label={`column ${id}`} />
      {label}
    </label>
  );
  return (
    <div
      className="xp-popover"
      role="dialog"
      aria-label="columns"
      onKeyDown={(e) => {
        if (e.key === "Escape") onClose();
      }}
    >
      <div className="toolbar">
        <input
          className="input grow"
          autoFocus
          placeholder="find a key…"
          aria-label="find a column"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <button className="btn" onClick={onClose}>
          DONE
        </button>
      </div>
      <div className="xp-pick-group">
        <div className="muted">RUN</div>
        {FIXED_COLUMNS.filter(match).map((id) => box(id))}
      </div>
      <div className="xp-pick-group">
        <div className="muted">CONFIG</div>
        {configKeys.filter(match).map((k) => box(configColumn(k), k))}
        {configKeys.length === 0 && <div className="muted small">no config keys</div>}
      </div>
      <div className="xp-pick-group">
        <div className="muted">METRICS (last · min · max)</div>
        {metricKeys.filter(match).map((k) => (
          <div key={k} className="xp-pick-metric">
            <span className="xp-pick-key" title={k}>
              {k}
            </span>
            {STATS.map((s) => (
              <label key={s} className="xp-pick">
                <input
                  type="checkbox"
                  checked={on.has(metricColumn(k, s))}
                  onChange={() => toggle(metricColumn(k, s))}
                  aria-label={`column ${k} ${s}`}
                />
                {s}
              </label>
            ))}
          </div>
        ))}
        {metricKeys.length === 0 && <div className="muted small">no metrics</div>}
      </div>
    </div>
  );
}
