// Each rank's median step time as a bar, the stragglers marked: where a slow rank stands among the others.
// Ranks without enough steps measured are listed as such, not drawn as zero.
import type { RankRecord } from "./api";
import { stepBars } from "./model";

export function StepTimes({ ranks, onOpen }: { ranks: RankRecord[]; onOpen: (rank: number) => void }) {
  const { bars, unknown, max } = stepBars(ranks);
  if (!bars.length) return <div className="empty">no step times yet: each rank needs 5 or more logged steps</div>;
  return (
    <div className="rank-steps" aria-label="step time per rank">
      {bars.map((b) => (
        <button key={b.rank} className={`rank-bar${b.straggler ? " slow" : ""}`} onClick={() => onOpen(b.rank)}>
          <span className="rank-bar-name">rank {b.rank}</span>
          <span className="rank-bar-track">
            <span className="rank-bar-fill" style={{ width: `${(100 * b.seconds) / max}%` }} />
          </span>
          <span className="rank-bar-value">
            {b.seconds.toFixed(3)} s{b.straggler ? ` · +${b.slowerBy ?? "?"}%` : ""}
          </span>
        </button>
      ))}
      {unknown > 0 && <div className="muted">{unknown} ranks without enough steps measured</div>}
    </div>
  );
}
