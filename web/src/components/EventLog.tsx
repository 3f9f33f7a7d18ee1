import { useQuery } from "@tanstack/react-query";
import { listEvents } from "../api/client";
import { fmtTime } from "../lib/format";

const KIND_CLASS: Record<string, string> = {
  error: "red",
  failed: "red",
  warning: "orange",
  checkpoint: "cyan",
  checkpoint_saved: "cyan",
  status: "green",
  status_change: "green",
};

export function EventLog({ runId }: { runId: string | undefined }) {
  const q = useQuery({
    queryKey: ["events", runId],
    queryFn: () => listEvents(runId as string),
    enabled: !!runId,
    refetchInterval: 3000,
  });
  if (!runId) return <div className="empty">select a run</div>;
  if (q.isError && !q.data) return <div className="error">events: {(q.error as Error).message}</div>;
  if (q.isLoading) return <div className="empty">loading…</div>;
  const events = [...(q.data ?? [])].reverse();
  if (events.length === 0) return <div className="empty">no events yet</div>;
  return (
    <ul className="events">
      {events.map((e) => (
        <li key={String(e.id)}>
          <span className="muted">{fmtTime(e.time).slice(11)}</span>{" "}
          <span className={KIND_CLASS[e.kind] ?? "orange"}>{e.kind.toUpperCase().padEnd(10)}</span> <span>{e.message}</span>
        </li>
      ))}
    </ul>
  );
}
