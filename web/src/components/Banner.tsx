import { useSyncExternalStore } from "react";
import { connectivity } from "../api/connectivity";

export function UnreachableBanner() {
  const c = useSyncExternalStore(connectivity.subscribe, connectivity.get);
  if (c.reachable) return null;
  return (
    <div className="banner" role="alert">
      ✗ SERVER UNREACHABLE — reconnecting automatically… (showing the last data received)
    </div>
  );
}
