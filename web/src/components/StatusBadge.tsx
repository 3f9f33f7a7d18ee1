import type { RunStatus } from "../api/types";

const BADGE: Record<RunStatus, { text: string; cls: string }> = {
  queued: { text: "[◌ QUEUED]", cls: "muted" },
  running: { text: "[● RUNNING]", cls: "st-running" },
  completed: { text: "[✓ COMPLETED]", cls: "st-completed" },
  failed: { text: "[✗ FAILED]", cls: "st-failed" },
  interrupted: { text: "[■ INTERRUPTED]", cls: "st-interrupted" },
};

export function StatusBadge({ status }: { status: RunStatus | string }) {
  const b = BADGE[status as RunStatus] ?? { text: `[${String(status).toUpperCase()}]`, cls: "muted" };
  return (
    <span className={`badge ${b.cls}`} data-status={status}>
      {b.text}
    </span>
  );
}
