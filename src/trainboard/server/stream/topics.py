"""Topic names on the broker."""

from __future__ import annotations

#: Run list changes for every dashboard: run_created, status_change, run_updated, run_deleted.
RUNS = "runs"


def run_events(run_id: str) -> str:
    """Dashboard events of one run: metric_update, status_change, checkpoint_saved, event."""
    return f"run:{run_id}"


def run_log(run_id: str) -> str:
    """Raw log chunks of one run: (offset_end, source, bytes) tuples, then ("done", exit_code)."""
    return f"log:{run_id}"


def run_lines(run_id: str) -> str:
    """Indexed log lines of one run."""
    return f"lines:{run_id}"


def run_rank_logs(run_id: str) -> str:
    """Raw log chunks of a run's ranks: (rank, end offset in that rank's stream, source, bytes), then
    ("done", exit_code); a rank's SSE stream keeps its own rank's chunks."""
    return f"ranklog:{run_id}"
