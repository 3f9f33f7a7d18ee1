"""LogIndexer on a real SQLite database: its state is the persisted row, not its memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine

from trainboard.server.ingest.log_indexer import LONG_IDLE_SECONDS, LogIndexer
from trainboard.server.settings import Settings
from trainboard.server.store import line_index, log_lines
from trainboard.server.store import logs as logs_store
from trainboard.server.store import runs as runs_store
from trainboard.server.store.engine import make_engines, upgrade


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engines = make_engines(Settings(data_dir=tmp_path, serve_ui=False))
    upgrade(engines.writer)
    with engines.writer.begin() as conn:
        runs_store.create_run(conn, run_id="r", name="r", project="p", config={})
    yield engines.writer
    engines.dispose()


def append(conn: Connection, indexer: LogIndexer, data: bytes) -> list[str]:
    result = logs_store.append(conn, run_id="r", stream=None, chunks=[(None, "stdout", time.time(), data)])
    assert result is not None
    return [row[4] for row in indexer.feed(conn, "r", result.stored)]


def texts(conn: Connection) -> list[tuple[str, bool]]:
    final = [
        (r[4], False) for r in log_lines.iter_lines(conn, run_id="r", flt=log_lines.LineFilter(), include_open=False)
    ]
    return final + [(r[4], True) for r in log_lines.open_rows(conn, run_id="r")]


def test_a_fresh_indexer_continues_from_the_persisted_state(engine: Engine) -> None:
    """What the writer does when another job failed: it drops the indexer; nothing is lost."""
    with engine.begin() as conn:
        assert append(conn, LogIndexer(), b"first\r\npart") == []
    with engine.begin() as conn:
        assert texts(conn) == [("first", True), ("part", True)]
        assert append(conn, LogIndexer(), b"ly done\r\n\r 50%|#####") == ["first"]
    with engine.begin() as conn:
        assert [r[4] for r in LogIndexer().flush(conn, "r")] == ["partly done", " 50%|#####"]
        assert texts(conn) == [("first", False), ("partly done", False), (" 50%|#####", False)]


def test_a_rolled_back_transaction_leaves_the_persisted_state_as_it_was(engine: Engine) -> None:
    with engine.begin() as conn:
        append(conn, LogIndexer(), b"kept\r\n")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        append(conn, LogIndexer(), b"lost\r\n")
        raise RuntimeError("the commit fails")
    with engine.begin() as conn:
        state = line_index.load(conn, run_id="r")
        assert state is not None and state.offset == len(b"kept\r\n")
        indexer = LogIndexer()
        assert append(conn, indexer, b"next\r\n") == ["kept"]
        indexer.flush(conn, "r")
        assert texts(conn) == [("kept", False), ("next", False)]


def test_open_lines_become_idle_only_after_the_long_idle_period(engine: Engine) -> None:
    with engine.begin() as conn:
        append(conn, LogIndexer(), b"\r 10%|#")
    with engine.connect() as conn:
        now = time.time()
        assert line_index.idle_runs(conn, quiet_since=now - LONG_IDLE_SECONDS) == []
        assert line_index.idle_runs(conn, quiet_since=now + 1) == ["r"]
    with engine.begin() as conn:
        assert [r[4] for r in LogIndexer().flush(conn, "r")] == [" 10%|#"]
    with engine.connect() as conn:
        assert line_index.idle_runs(conn, quiet_since=time.time() + 1) == []


def test_long_idle_is_much_longer_than_a_slow_training_step() -> None:
    assert LONG_IDLE_SECONDS >= 300
