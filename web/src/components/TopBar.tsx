import { useEffect, useState, useSyncExternalStore } from "react";
import { live } from "../api/live";
import { UserMenu } from "../auth/UserMenu";
import { LaunchDialogHost, NewRunButton } from "../launch/LaunchDialog";
import { ThemeToggle } from "../layout/ThemeToggle";

function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(t);
  }, []);
  return <span className="clock">{now.toISOString().slice(0, 19).replace("T", " ")} UTC</span>;
}

export function TopBar({ total, running, onHelp }: { total: number; running: number; onHelp(): void }) {
  const ws = useSyncExternalStore(
    (cb) => live.onState(cb),
    live.getState,
  );
  return (
    <header className="topbar">
      <span className="brand">▌TRAINBOARD</span>
      <span>
        RUNS <b>{total}</b>
      </span>
      <span>
        RUNNING <b className="green">{running}</b>
      </span>
      <span className={ws === "open" ? "green" : "orange"} title="live connection (WebSocket)">
        WS {ws === "open" ? "● LIVE" : ws === "connecting" ? "… CONNECTING" : "✗ DOWN"}
      </span>
      <span className="spacer" />
      <NewRunButton />
      <LaunchDialogHost />
      <Clock />
      <UserMenu />
      <ThemeToggle />
      <button className="btn" onClick={onHelp} title="keyboard shortcuts">
        [?]
      </button>
    </header>
  );
}
