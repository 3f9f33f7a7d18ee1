import { useEffect, useState } from "react";

function secondsUntil(until: number | null): number {
  return until === null ? 0 : Math.max(0, Math.ceil((until - Date.now()) / 1000));
}

/** Seconds left until `until` (ms since the epoch, or null), ticking once a second; 0 when passed or null. */
export function useCountdown(until: number | null): number {
  const [, tick] = useState(0);
  useEffect(() => {
    if (until === null) return;
    const t = setInterval(() => {
      tick((n) => n + 1);
      if (secondsUntil(until) === 0) clearInterval(t);
    }, 1000);
    return () => clearInterval(t);
  }, [until]);
  return secondsUntil(until);
}
