// The runs table: TanStack Table (server-side sorting: `manualSorting`) rendered as a virtualised grid over the
// whole order (rows fetched in windows by the page), so 100,000 rows cost what the ~45 visible ones cost.
import { getCoreRowModel, useReactTable, type ColumnDef, type SortingState } from "@tanstack/react-table";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { StatusBadge } from "../components/StatusBadge";
import { costNow } from "../launch/CostRow";
import type { RunCost } from "../launch/api";
import { fmtDuration, fmtNumber, fmtTime, fmtUsd } from "../lib/format";
import type { ExpRun } from "./api";
import { cellValue, columnLabel, roundedNumber, columnOfSort, flattenConfig, parseColumn, sortParam, type ColumnId, type Scalar } from "./columns";
import { fmtScalar } from "./diff";

const ROW_H = 22;
const NO_RUNS: ExpRun[] = [];

const numericCache = new Map<ColumnId, boolean>();
/** Columns of numbers (tabular figures). */
const numericCols = {
  has(id: ColumnId): boolean {
    let v = numericCache.get(id);
    if (v === undefined) {
      const c = parseColumn(id);
      v = c?.kind === "metric" || (c?.kind === "fixed" && (c.id === "duration" || c.id === "cost"));
      numericCache.set(id, v);
    }
    return v;
  },
};

const flatCache = new WeakMap<object, Record<string, Scalar>>();
function flatOf(r: ExpRun): Record<string, Scalar> {
  const c = (r.config ?? {}) as object;
  let f = flatCache.get(c);
  if (!f) flatCache.set(c, (f = flattenConfig(c)));
  return f;
}

export function columnWidth(id: ColumnId): number {
  const c = parseColumn(id);
  if (!c) return 90;
  if (c.kind === "fixed") return { name: 280, status: 140, project: 100, tags: 140, start_time: 128, duration: 72, cost: 80 }[c.id];
  return Math.min(150, Math.max(80, columnLabel(id).length * 7 + 22));
}

/** A cell's content: plain text where it can be (fewer DOM nodes: a page of 50 columns mounts fast). */
/** A run's cost: while it runs, counting up from the server's figure at its price (as on the run page). */
function LiveCost({ cost }: { cost: RunCost }) {
  const [clock, setClock] = useState(() => ({ readAt: Date.now(), now: Date.now() }));
  useEffect(() => {
    const readAt = Date.now(); // a new figure from the server: count up from it
    setClock({ readAt, now: readAt });
    if (!cost.live) return;
    const t = setInterval(() => setClock((c) => ({ ...c, now: Date.now() })), 1000);
    return () => clearInterval(t);
  }, [cost]);
  const usd = costNow(cost, clock.readAt, Math.max(clock.now, clock.readAt));
  return (
    <span data-live-cost={cost.live ? "live" : "final"} title={`${fmtUsd(cost.usd_per_hour)}/h · ${cost.source}`}>
      {fmtUsd(usd)}
    </span>
  );
}

function Cell({ run, id }: { run: ExpRun; id: ColumnId }) {
  const v = cellValue(run, id, flatOf(run));
  const c = parseColumn(id);
  if (c?.kind === "fixed") {
    if (c.id === "status") return <StatusBadge status={run.status} />;
    if (c.id === "tags")
      return (
        <>
          {(v as string[]).map((t) => (
            <span className="xp-tag" key={t}>
              {t}
            </span>
          ))}
        </>
      );
    if (c.id === "start_time") return fmtTime(run.start_time).slice(0, 16);
    if (c.id === "duration") return v === null ? "—" : fmtDuration(v as number);
    if (c.id === "cost") {
      const cost = (run as { cost?: RunCost | null }).cost;
      return cost ? <LiveCost cost={cost} /> : "—";
    }
    return String(v ?? "");
  }
  if (c?.kind === "metric") return v === null ? "—" : fmtNumber(v as number);
  return v === null ? "—" : typeof v === "number" ? roundedNumber(v) : fmtScalar(v as Scalar);
}

/** Hover text of a cell whose content may be cut or rounded: the name, config values and numbers exactly. */
function cellTitle(run: ExpRun, id: ColumnId): string | undefined {
  if (id === "name") return run.name;
  if (id === "status") return run.status;
  const c = parseColumn(id);
  if (c?.kind === "config") {
    const v = cellValue(run, id, flatOf(run));
    return typeof v === "number" ? String(v) : fmtScalar(v as Scalar);
  }
  if (c?.kind === "metric") {
    const v = cellValue(run, id, flatOf(run));
    return typeof v === "number" ? String(v) : undefined;
  }
  return undefined;
}

interface RowProps {
  run: ExpRun;
  index: number;
  start: number;
  columns: ColumnId[];
  template: string;
  on: boolean;
  cur: boolean;
  onCursor(i: number): void;
  onToggle(id: string, range: boolean): void;
  onOpen(run: ExpRun): void;
}

/** One row; memoised, so a new sort header, cursor move or selection re-renders only the rows it changes. */
const Row = memo(function Row({ run: r, index, start, columns, template, on, cur, onCursor, onToggle, onOpen }: RowProps) {
  return (
    <div
      role="row"
      aria-selected={on}
      aria-rowindex={index + 2}
      data-run-id={r.id}
      className={`xp-row${cur ? " cur" : ""}${on ? " on" : ""}`}
      style={{ gridTemplateColumns: template, transform: `translateY(${start}px)`, height: ROW_H }}
      onClick={() => onCursor(index)}
      onDoubleClick={() => onOpen(r)}
    >
      <span className="xp-cell" role="gridcell">
        <input
          type="checkbox"
          aria-label={`select ${r.name} for comparison`}
          checked={on}
          onClick={(e) => {
            e.stopPropagation();
            onCursor(index);
            onToggle(r.id, e.shiftKey);
          }}
          onChange={() => undefined}
        />
      </span>
      {columns.map((id) => (
        <span key={id} className={numericCols.has(id) ? "xp-cell num" : "xp-cell"} role="gridcell" data-col={id} title={cellTitle(r, id)}>
          <Cell run={r} id={id} />
        </span>
      ))}
    </div>
  );
});

interface Props {
  /** rows in the whole order (the virtualised grid's height): runs not fetched yet show as pending rows */
  total: number;
  /** the run at a row; undefined while its block loads */
  rowAt(i: number): ExpRun | undefined;
  /** the loaded runs in view (what "select all" selects) */
  loaded: readonly ExpRun[];
  columns: ColumnId[];
  sort: string;
  onSort(sort: string): void;
  selected: ReadonlySet<string>;
  onToggle(id: string, range: boolean): void;
  onToggleAll(): void;
  cursor: number;
  onCursor(i: number): void;
  onOpen(run: ExpRun): void;
  /** the rows in view changed (first and last index): the page fetches their blocks */
  onRange(start: number, end: number): void;
  /** a new value scrolls back to the top (a new sort, filter or project) */
  resetKey: string;
  onKeyDown(e: KeyboardEvent<HTMLDivElement>): void;
  /** the rows are those of the previous query while the new one loads */
  busy: boolean;
}

function RunsTableImpl(p: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const sorted = columnOfSort(p.sort);
  const sorting: SortingState = sorted ? [{ id: sorted.id, desc: sorted.desc }] : [];
  const defs = useMemo<ColumnDef<ExpRun>[]>(
    () => p.columns.map((id) => ({ id, header: columnLabel(id), size: columnWidth(id) })),
    [p.columns],
  );
  // TanStack Table for the headers and the sort state; the rows come from the windows (rowAt)
  const table = useReactTable({
    data: NO_RUNS,
    columns: defs,
    state: { sorting },
    manualSorting: true,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => r.id,
  });
  const virt = useVirtualizer({
    count: p.total,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_H,
    overscan: 6,
  });
  const items = virt.getVirtualItems();
  const first = items[0]?.index ?? 0;
  const last = items.at(-1)?.index ?? 0;
  const { onRange } = p;
  useEffect(() => onRange(first, last), [first, last, onRange]);
  useEffect(() => {
    if (scrollRef.current) scrollRef.current.scrollTop = 0;
  }, [p.resetKey]);
  useEffect(() => {
    if (p.cursor >= 0 && p.cursor < p.total) virt.scrollToIndex(p.cursor, { align: "auto" });
  }, [p.cursor, p.total, virt]);

  const width = 26 + p.columns.reduce((a, id) => a + columnWidth(id), 0);
  const template = `26px ${p.columns.map((id) => `${columnWidth(id)}px`).join(" ")}`;
  const allOn = p.loaded.length > 0 && p.loaded.every((r) => p.selected.has(r.id));

  const headerSort = (id: ColumnId) => {
    // click: ascending, again: descending, a third time: back to the server's default order
    if (!sorted || sorted.id !== id) p.onSort(sortParam(id, false) ?? "");
    else if (!sorted.desc) p.onSort(sortParam(id, true) ?? "");
    else p.onSort("");
  };

  return (
    <div
      className={p.busy ? "xp-scroll busy" : "xp-scroll"}
      ref={scrollRef}
      tabIndex={0}
      role="grid"
      aria-label="runs table"
      aria-rowcount={p.total + 1}
      aria-multiselectable="true"
      aria-busy={p.busy}
      onKeyDown={p.onKeyDown}
    >
      <div className="xp-head" role="row" style={{ gridTemplateColumns: template, width }}>
        <span role="columnheader" className="xp-cell">
          <input type="checkbox" aria-label="select all loaded runs in view" checked={allOn} onChange={p.onToggleAll} />
        </span>
        {table.getHeaderGroups()[0]?.headers.map((h) => {
          const id = h.column.id;
          const dir = sorted?.id === id ? (sorted.desc ? "descending" : "ascending") : "none";
          // sorting is the server's (manualSorting, no accessor): sortable is what the server can sort by
          const can = sortParam(id, false) !== null;
          return (
            <span
              key={id}
              role="columnheader"
              aria-sort={dir}
              className={`xp-cell xp-th${can ? " clickable" : ""}`}
              data-col={id}
              title={can ? `${id} — click to sort` : id}
            >
              {can ? (
                <button className="xp-sort" onClick={() => headerSort(id)}>
                  {columnLabel(id)} {dir === "ascending" ? "▲" : dir === "descending" ? "▼" : ""}
                </button>
              ) : (
                columnLabel(id)
              )}
            </span>
          );
        })}
      </div>
      <div className="xp-body" style={{ height: virt.getTotalSize(), width, position: "relative" }}>
        {items.map((vi) => {
          const r = p.rowAt(vi.index);
          if (!r)
            return (
              <div
                key={vi.index}
                className="xp-row-pending muted"
                aria-hidden="true"
                style={{ transform: `translateY(${vi.start}px)`, height: ROW_H, width }}
              >
                {vi.index + 1} …
              </div>
            );
          return (
            // keyed by position: a new sort or page fills the mounted rows' cells with the new runs' values
            // instead of unmounting ~50 rows x 50 cells and mounting as many (rows hold no state of their own)
            <Row
              key={vi.index}
              run={r}
              index={vi.index}
              start={vi.start}
              columns={p.columns}
              template={template}
              on={p.selected.has(r.id)}
              cur={vi.index === p.cursor}
              onCursor={p.onCursor}
              onToggle={p.onToggle}
              onOpen={p.onOpen}
            />
          );
        })}
      </div>
    </div>
  );
}

export const RunsTable = memo(RunsTableImpl);
