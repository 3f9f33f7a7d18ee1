"""Terminal geometry: the size the program's terminal had, from which byte of the raw log on.

Clients send it with the raw log upload (``size`` on a chunk: in effect from that chunk's first byte);
a player reads it here and replays the bytes at the recorded width, resizing at the recorded offsets.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from trainboard.server.api.errors import not_found
from trainboard.server.state import State
from trainboard.server.store import logs as logs_store
from trainboard.server.store import terminal_sizes as store

router = APIRouter(prefix="/api/runs/{run_id}/logs", tags=["logs"])

#: The kernel keeps a terminal's size in unsigned shorts.
MAX_CELLS = 65535


class TerminalSizeIn(BaseModel):
    """The terminal's size when a chunk was produced (from ``TIOCGWINSZ``, or ``$COLUMNS`` / ``$LINES``)."""

    model_config = ConfigDict(extra="forbid")

    cols: int = Field(ge=1, le=MAX_CELLS, description="Columns")
    rows: int = Field(ge=1, le=MAX_CELLS, description="Rows")


class TerminalSizeOut(BaseModel):
    offset: int = Field(description="First byte of the raw log shown at this size")
    cols: int
    rows: int


class TerminalGeometry(BaseModel):
    sizes: list[TerminalSizeOut] = Field(
        description="Each size the terminal had, by offset; each holds until the next. Empty when the client "
        "recorded none (a player then fits the bytes to its own width)."
    )


@router.get("/geometry", response_model=TerminalGeometry, responses={404: {"description": "No such run"}})
def get_geometry(run_id: str, state: State) -> TerminalGeometry:
    """The terminal sizes the run's output was produced at, with the byte offsets where they took effect."""
    with state.engines.reader.connect() as conn:
        if logs_store.extent(conn, run_id=run_id) is None:
            not_found("run", run_id)
        rows = store.sizes(conn, run_id=run_id)
    return TerminalGeometry(sizes=[TerminalSizeOut(**r) for r in rows])
