// The run page's RANKS panel (a distributed run only): a grid of rank terminals (4, 8 or 16 at a time, paged),
// the merged lines of every rank, or one rank alone; the first failing rank and the stragglers in a banner.
// Only the terminals on screen follow their rank, so a run of 1,024 ranks reads at most 16 streams at a time.
import { useState } from "react";
import type { Run } from "../api/types";
import { Panel } from "../components/Panel";
import { GRID_SIZES, findings, gridPage, pageOf, type GridSize, type RankView } from "./model";
import { RankLines } from "./RankLines";
import { RankTerminal } from "./RankTerminal";
import { StepTimes } from "./StepTimes";
import "./ranks.css";
import { useRanks } from "./useRanks";

export function RanksPanel({ run, collapsed, onToggle }: { run: Run; collapsed?: boolean; onToggle?: () => void }) {
  const q = useRanks(run);
  const [view, setView] = useState<RankView>({ kind: "grid" });
  const [size, setSize] = useState<GridSize>(4);
  const [page, setPage] = useState(0);
  const list = q.data;
  if (!list || list.ranks.length === 0) return null;
  const ranks = list.ranks;
  const grid = gridPage(ranks, page, size);
  const live = run.status === "running";
  const openRank = (rank: number) => setView({ kind: "rank", rank });
  const selectValue = view.kind === "rank" ? String(view.rank) : view.kind;
  const said = findings(list);
  const one = view.kind === "rank" ? ranks.find((r) => r.rank === view.rank) : undefined;

  return (
    <Panel
      title={`RANKS · ${ranks.length}${list.world_size && list.world_size !== ranks.length ? ` of ${list.world_size}` : ""}`}
      className="p-ranks"
      collapsed={collapsed}
      onToggle={onToggle}
      extra={
        <span className="rank-controls">
          <select
            aria-label="rank view"
            value={selectValue}
            onChange={(e) => {
              const v = e.target.value;
              setView(v === "grid" || v === "merged" || v === "steps" ? { kind: v } : { kind: "rank", rank: Number(v) });
            }}
          >
            <option value="grid">grid of ranks</option>
            <option value="merged">all ranks · merged lines</option>
            <option value="steps">step time per rank</option>
            {ranks.map((r) => (
              <option key={r.rank} value={r.rank}>
                rank {r.rank}
                {r.node ? ` · ${r.node}` : ""}
              </option>
            ))}
          </select>
          {view.kind === "grid" && (
            <span className="seg" role="group" aria-label="terminals per page">
              {GRID_SIZES.map((n) => (
                <button
                  key={n}
                  className={n === size ? "on" : ""}
                  onClick={() => {
                    setPage(pageOf(ranks, grid.first, n));
                    setSize(n);
                  }}
                >
                  {n}
                </button>
              ))}
            </span>
          )}
        </span>
      }
    >
      {said.length > 0 && (
        <div className="rank-banner" role="alert">
          {said.map((s) => (
            <div key={s} className={s.includes("failed first") ? "red" : "amber"}>
              {s}
              {s.includes("failed first") && list.first_failure && (
                <button className="link" onClick={() => openRank(list.first_failure!.rank)}>
                  open rank {list.first_failure.rank}
                </button>
              )}
            </div>
          ))}
        </div>
      )}
      {view.kind === "grid" && (
        <>
          <div className={`rank-grid n${size}`}>
            {grid.ranks.map((r) => (
              <RankTerminal key={`${run.id}:${r.rank}`} runId={run.id} record={r} live={live} onOpen={openRank} />
            ))}
          </div>
          {grid.pages > 1 && (
            <div className="rank-pager">
              <button disabled={grid.page === 0} onClick={() => setPage(grid.page - 1)} aria-label="previous ranks">
                ◂
              </button>
              <span role="status">
                ranks {grid.first}–{grid.last} · page {grid.page + 1} of {grid.pages} · {ranks.length} ranks
              </span>
              <button
                disabled={grid.page >= grid.pages - 1}
                onClick={() => setPage(grid.page + 1)}
                aria-label="next ranks"
              >
                ▸
              </button>
            </div>
          )}
        </>
      )}
      {view.kind === "merged" && <RankLines runId={run.id} rank={null} live={live} />}
      {view.kind === "steps" && <StepTimes ranks={ranks} onOpen={openRank} />}
      {view.kind === "rank" && (
        <div className="rank-one">
          {one && <RankTerminal key={`${run.id}:${one.rank}:big`} runId={run.id} record={one} live={live} big />}
          <RankLines runId={run.id} rank={view.rank} live={live} />
        </div>
      )}
    </Panel>
  );
}
