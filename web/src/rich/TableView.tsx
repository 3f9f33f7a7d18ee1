// A table per step: a step slider and a virtualised grid (10,000 rows scroll as a few dozen DOM rows); DIFF shows
// the rows removed and added since another step. Cells are text nodes, never HTML.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useMemo, useRef, useState } from "react";
import type { Cell, RichKey } from "./api";
import { cellText, lineDiff } from "./model";
import { StepSlider, Truncated } from "./StepSlider";
import { useRichValue } from "./useRichValue";
import { useStep } from "./useStep";

const ROW = 22;

interface Shown {
  op: "same" | "add" | "del";
  cells: Cell[];
}

export function TableView({ runId, rkey }: { runId: string; rkey: RichKey }) {
  const [step, setStep] = useStep(runId, rkey.steps);
  const [against, setAgainst] = useState<number | null>(null);
  const q = useRichValue(runId, rkey.key, step);
  const other = useRichValue(runId, rkey.key, against);
  const table = q.data?.table;
  const rows: Shown[] = useMemo(() => {
    if (!table) return [];
    if (against === null || !other.data?.table) return table.rows.map((cells) => ({ op: "same", cells }));
    const toLines = (r: Cell[][]) => r.map((row) => JSON.stringify(row)).join("\n");
    return lineDiff(toLines(other.data.table.rows), toLines(table.rows)).ops.map((o) => ({
      op: o.op,
      cells: JSON.parse(o.text || "[]") as Cell[],
    }));
  }, [table, against, other.data]);
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => scroller.current, estimateSize: () => ROW, overscan: 20 });
  const previous = step !== null ? rkey.steps[rkey.steps.indexOf(step) - 1] : undefined;
  const cols = table?.columns ?? [];
  const template = `repeat(${Math.max(1, cols.length)}, minmax(80px, 1fr))`;
  return (
    <div className="rich-table">
      <div className="rich-controls">
        <StepSlider steps={rkey.steps} step={step} onChange={setStep} />
        <label className="rich-diff-toggle">
          <input
            type="checkbox"
            checked={against !== null}
            onChange={(e) => setAgainst(e.target.checked ? (previous ?? rkey.steps[0] ?? null) : null)}
          />{" "}
          DIFF
        </label>
        {against !== null && <StepSlider steps={rkey.steps} step={against} onChange={setAgainst} label="against step" />}
        {table && <span className="muted">{table.rows.length.toLocaleString()} rows</span>}
      </div>
      {q.isError && <div className="empty red">cannot load step {step}: {(q.error as Error).message}</div>}
      <div className="rich-grid" ref={scroller} role="table" aria-label={`${rkey.key} at step ${step}`}>
        <div className="rich-row rich-head" role="row" style={{ gridTemplateColumns: template }}>
          {cols.map((c) => (
            <div key={c.name} role="columnheader" title={c.type}>
              {c.name} <span className="muted">{c.type}</span>
            </div>
          ))}
        </div>
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {v.getVirtualItems().map((item) => {
            const row = rows[item.index]!;
            return (
              <div
                key={item.key}
                role="row"
                className={`rich-row d-${row.op}`}
                style={{ gridTemplateColumns: template, transform: `translateY(${item.start}px)`, height: ROW }}
              >
                {row.cells.map((cell, i) => (
                  <div key={i} role="cell" className={typeof cell === "number" ? "num" : undefined}>
                    {cellText(cell)}
                  </div>
                ))}
              </div>
            );
          })}
        </div>
      </div>
      <Truncated text={q.data?.truncated} />
    </div>
  );
}
