// A chart's own settings in its header: the LOG switch, and behind ⚙ the y bounds, the x axis and smoothing
// (those two where the caller applies them). Whatever a chart sets differently from the page's toolbar is
// marked on the ⚙ button, and one click puts the chart back on the defaults.
import { useEffect, useState } from "react";
import type { XMode } from "./adapters";
import type { ChartSettings } from "./settings";

const X_LABEL: Record<XMode, string> = { step: "STEP", elapsed: "ELAPSED", wall: "WALL", cost: "COST" };

function BoundInput(props: { label: string; value: number | null; onCommit(v: number | null): void }) {
  const [text, setText] = useState(props.value === null ? "" : String(props.value));
  useEffect(() => setText(props.value === null ? "" : String(props.value)), [props.value]);
  const commit = () => {
    const t = text.trim();
    const v = t === "" ? null : Number(t);
    if (v === null || Number.isFinite(v)) props.onCommit(v);
    else setText(props.value === null ? "" : String(props.value));
  };
  return (
    <label className="chart-bound">
      {props.label}
      <input
        className="input"
        inputMode="decimal"
        placeholder="auto"
        value={text}
        aria-label={props.label}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === "Enter" && commit()}
      />
    </label>
  );
}

export function ChartSettingsBar(props: {
  chartKey: string;
  settings: ChartSettings;
  onSettings(patch: Partial<ChartSettings> | null): void;
  controls?: { x?: XMode[]; smoothing?: number };
  unit?: string;
}) {
  const { chartKey, settings: s, onSettings, controls } = props;
  const [open, setOpen] = useState(false);
  const custom = s.yMin !== null || s.yMax !== null || s.x !== null || s.smoothing !== null;
  return (
    <span className="chart-settings">
      <button
        className={s.log ? "btn tiny on" : "btn tiny"}
        aria-pressed={s.log}
        aria-label={`log scale ${chartKey}`}
        title={s.log ? "this chart's y axis is logarithmic: click for linear" : "log scale for this chart's y axis"}
        onClick={() => onSettings({ log: !s.log })}
      >
        LOG
      </button>
      <button
        className={custom ? "btn tiny on" : "btn tiny"}
        aria-expanded={open}
        aria-label={`chart settings ${chartKey}`}
        title={custom ? "this chart has its own settings" : "this chart's settings"}
        onClick={() => setOpen(!open)}
      >
        ⚙
      </button>
      {open && (
        <span className="chart-settings-pop" role="group" aria-label={`settings of ${chartKey}`}>
          <span className="muted">y{props.unit ? ` (${props.unit})` : ""}</span>
          <BoundInput label={`y min ${chartKey}`} value={s.yMin} onCommit={(v) => onSettings({ yMin: v })} />
          <BoundInput label={`y max ${chartKey}`} value={s.yMax} onCommit={(v) => onSettings({ yMax: v })} />
          {controls?.x && (
            <span className="seg" role="group" aria-label={`x axis ${chartKey}`}>
              <button className={s.x === null ? "on" : ""} onClick={() => onSettings({ x: null })} title="as the toolbar">
                PAGE
              </button>
              {controls.x.map((m) => (
                <button key={m} className={s.x === m ? "on" : ""} onClick={() => onSettings({ x: m })}>
                  {X_LABEL[m]}
                </button>
              ))}
            </span>
          )}
          {controls?.smoothing !== undefined && (
            <label className="slider" title="this chart's EMA smoothing (the toolbar's when not set)">
              EMA
              <input
                type="range"
                min={0}
                max={0.99}
                step={0.01}
                value={s.smoothing ?? controls.smoothing}
                onChange={(e) => onSettings({ smoothing: Number(e.target.value) })}
                aria-label={`smoothing ${chartKey}`}
              />
              <span className="num">{(s.smoothing ?? controls.smoothing).toFixed(2)}</span>
              {s.smoothing === null && <span className="muted">page</span>}
            </label>
          )}
          <button className="btn tiny" onClick={() => onSettings(null)} title="back to the page's settings, linear, bounds from the data">
            RESET
          </button>
        </span>
      )}
    </span>
  );
}
