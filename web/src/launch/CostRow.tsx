// A run's cost in its launch panel: dollars so far (counting up while the run runs), the price and where the
// price comes from; or why there is none. Never a guess: no price, no number.
import { useEffect, useRef, useState } from "react";
import { fmtUsd } from "../lib/format";
import type { RunCost } from "./api";


/** The cost now: the server's figure, plus the price × the time since it was read while the run goes on. */
export function costNow(cost: RunCost, readAt: number, now: number): number {
  if (!cost.live) return cost.usd;
  return cost.usd + (cost.usd_per_hour * Math.max(0, now - readAt)) / 3_600_000;
}

export function CostRow({ cost, unpriced }: { cost: RunCost | null; unpriced?: string | null }) {
  const readAt = useRef(Date.now());
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    readAt.current = Date.now();
    setNow(readAt.current);
  }, [cost]);
  useEffect(() => {
    if (!cost?.live) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [cost?.live]);
  if (!cost && !unpriced) return null;
  return (
    <div className="kvrow">
      <span className="muted">COST</span>
      {cost ? (
        <span data-testid="run-cost" title={cost.source}>
          {fmtUsd(costNow(cost, readAt.current, now))}
          {cost.live ? " so far" : ""} · {fmtUsd(cost.usd_per_hour)}/h · {cost.source}
        </span>
      ) : (
        <span data-testid="run-cost" className="muted">
          unknown: {unpriced}
        </span>
      )}
    </div>
  );
}
