import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
} from "@tanstack/react-table";
import { useMemo, useState } from "react";
import {
  checkpointDownloadUrl,
  deleteCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  markBestCheckpoint,
} from "../api/client";
import type { Checkpoint } from "../api/types";
import { toFloat } from "../api/wire";
import { checkpointMetricKeys, sortCheckpoints, type CheckpointSortKey } from "../lib/checkpoints";
import { fmtBytes, fmtNumber, fmtTime } from "../lib/format";

function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 12) : id;
}

export function CheckpointTable({ runId }: { runId: string | undefined }) {
  const qc = useQueryClient();
  const [sorting, setSorting] = useState<SortingState>([{ id: "step", desc: true }]);
  const [message, setMessage] = useState<string | null>(null);
  const q = useQuery({
    queryKey: ["checkpoints", runId],
    queryFn: () => listCheckpoints(runId as string),
    enabled: !!runId,
    refetchInterval: 5000,
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["checkpoints", runId] });
  const del = useMutation({
    mutationFn: (v: { id: string; file: boolean }) => deleteCheckpoint(v.id, v.file),
    onSuccess: (r, v) => {
      setMessage(`checkpoint ${shortId(v.id)} deleted${r.file_deleted ? " (and its file)" : ""}`);
      refresh();
    },
    onError: (e) => setMessage(`delete failed: ${(e as Error).message}`),
  });
  const load = useMutation({
    mutationFn: loadCheckpoint,
    onSuccess: (r) =>
      setMessage(
        `LOAD ${shortId(r.id)}: ${r.path} · step ${r.step ?? "—"} · ${r.exists === null ? "outside the checkpoint roots: not checked" : r.exists === false ? "file NOT found on the server" : "file present"}${r.valid ? "" : ` · INVALID: ${r.invalid_reason ?? ""}`}`,
      ),
    onError: (e) => setMessage(`load failed: ${(e as Error).message}`),
  });
  const best = useMutation({
    mutationFn: markBestCheckpoint,
    onSuccess: () => refresh(),
    onError: (e) => setMessage(`mark best failed: ${(e as Error).message}`),
  });

  const data = useMemo(() => q.data ?? [], [q.data]);
  const metricKeys = useMemo(() => checkpointMetricKeys(data), [data]);
  const sorted = useMemo(() => {
    const s = sorting[0];
    return s ? sortCheckpoints(data, s.id as CheckpointSortKey, s.desc ? "desc" : "asc") : data;
  }, [data, sorting]);

  const columns = useMemo<ColumnDef<Checkpoint>[]>(
    () => [
      {
        id: "path",
        header: "ID",
        accessorFn: (c) => c.path,
        cell: ({ row }) => (
          <span title={row.original.path} className={row.original.valid ? "" : "red"}>
            {shortId(row.original.id)}
            {row.original.is_best && <span className="star"> ★</span>}
            {!row.original.valid && <span title={row.original.invalid_reason ?? "invalid"}> ⚠</span>}
          </span>
        ),
      },
      { id: "step", header: "STEP", accessorFn: (c) => c.step, cell: ({ row }) => <span className="num">{row.original.step ?? "—"}</span> },
      ...metricKeys.map<ColumnDef<Checkpoint>>((k) => ({
        id: `metric:${k}`,
        header: k.toUpperCase(),
        accessorFn: (c) => c.metrics?.[k],
        cell: ({ row }) => {
          const v = row.original.metrics?.[k];
          return <span className="num">{v === undefined ? "—" : fmtNumber(toFloat(v))}</span>;
        },
      })),
      { id: "size", header: "SIZE", accessorFn: (c) => c.size, cell: ({ row }) => <span className="num">{fmtBytes(row.original.size)}</span> },
      {
        id: "created_at",
        header: "SAVED",
        accessorFn: (c) => c.created_at,
        // month-day and time (the year and seconds on hover): the table fits a narrow column
        cell: ({ row }) => <span title={fmtTime(row.original.created_at)}>{fmtTime(row.original.created_at).slice(5, 16)}</span>,
      },
      {
        id: "actions",
        header: "ACTIONS",
        enableSorting: false,
        cell: ({ row }) => (
          <span className="actions">
            <button className="btn" onClick={() => load.mutate(row.original.id)} disabled={!row.original.valid}>
              [LOAD]
            </button>
            {!row.original.is_best && (
              <button className="btn" onClick={() => best.mutate(row.original.id)} title="mark as the best checkpoint">
                [BEST]
              </button>
            )}
            <a className="btn link" href={checkpointDownloadUrl(row.original.id)} download title="download the file">
              [⤓]
            </a>
            <button
              className="btn danger"
              onClick={() => {
                if (!window.confirm(`Delete checkpoint ${row.original.path} from the run?`)) return;
                const file = window.confirm("Also delete the file on the server's disk? (only inside a checkpoint root)");
                del.mutate({ id: row.original.id, file });
              }}
            >
              [DEL]
            </button>
          </span>
        ),
      },
    ],
    [metricKeys, load, del, best],
  );

  const table = useReactTable({
    data: sorted,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    manualSorting: true,
    getRowId: (c) => c.id,
    enableSortingRemoval: false,
    getCoreRowModel: getCoreRowModel(),
  });

  if (!runId) return <div className="empty">select a run</div>;
  if (q.isError && !q.data) return <div className="error">checkpoints: {(q.error as Error).message}</div>;
  if (q.isLoading) return <div className="empty">loading…</div>;
  return (
    <div className="ckpts">
      {message && (
        <div className="msg" onClick={() => setMessage(null)}>
          {message}
        </div>
      )}
      {data.length === 0 ? (
        <div className="empty">no checkpoints saved</div>
      ) : (
        <table className="table">
          <thead>
            {table.getHeaderGroups().map((hg) => (
              <tr key={hg.id}>
                {hg.headers.map((h) => {
                  const s = h.column.getIsSorted();
                  return (
                    <th
                      key={h.id}
                      onClick={h.column.getCanSort() ? h.column.getToggleSortingHandler() : undefined}
                      className={h.column.getCanSort() ? "clickable" : ""}
                      aria-sort={s === "asc" ? "ascending" : s === "desc" ? "descending" : "none"}
                    >
                      {flexRender(h.column.columnDef.header, h.getContext())}
                      {s === "asc" ? " ▲" : s === "desc" ? " ▼" : ""}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((r) => (
              <tr key={r.id} className={r.original.is_best ? "best" : ""} data-checkpoint-id={r.original.id}>
                {r.getVisibleCells().map((c) => (
                  <td key={c.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
