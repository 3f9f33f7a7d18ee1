import { useEffect, useState, type ReactNode } from "react";
import { Link } from "react-router";
import { FiringAlerts } from "../alerts/FiringAlerts";
import { UserMenu } from "../auth/UserMenu";
import { LaunchDialogHost, NewRunButton } from "../launch/LaunchDialog";
import { ThemeToggle } from "../layout/ThemeToggle";
import { useLiveIndicator } from "../lib/liveState";

function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 1000);
    return () => clearInterval(t);
  }, []);
  return <span className="clock">{now.toISOString().slice(0, 19).replace("T", " ")} UTC</span>;
}

export function TopBar({ total, running, onHelp, extra }: { total: number; running: number; onHelp(): void; extra?: ReactNode }) {
  const ws = useLiveIndicator();
  return (
    <header className="topbar">
      <span className="brand">▌TRAINBOARD</span>
      <span>
        RUNS <b>{total}</b>
      </span>
      <span>
        RUNNING <b className="green">{running}</b>
      </span>
      <span
        className={ws === "open" ? "green" : ws === "off" ? "muted" : "orange"}
        title={ws === "off" ? "this page reads its data over HTTP: it starts no live connection" : "live connection (WebSocket)"}
        data-live={ws}
      >
        WS {ws === "open" ? "● LIVE" : ws === "connecting" ? "… CONNECTING" : ws === "off" ? "○ NOT LIVE" : "✗ DOWN"}
      </span>
      <FiringAlerts />
      <Link to="/logs/search" className="btn link" data-testid="topbar-logsearch" title="search the logs of every run">
        SEARCH LOGS
      </Link>
      <span className="spacer" />
      {extra}
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
