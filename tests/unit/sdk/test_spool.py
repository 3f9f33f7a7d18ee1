"""The on-disk journal: append, pending from the ack cursor, reopen, lock, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainboard.sdk.spool import Journal, encode, find_journals


def test_pending_acks_and_reopen(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, "run1", "s1")
    j.append([encode("POST", "/a", b'{"x":1}'), encode("PUT", "/b", b"{}")])
    first, _second = j.pending()
    assert (first.method, first.path, first.body) == ("POST", "/a", b'{"x":1}')
    j.ack(first.end)
    j.close()  # not done: files stay for `trainboard sync`
    again = Journal(tmp_path / "run1" / "s1.journal")
    assert [r.path for r in again.pending()] == ["/b"]  # the ack cursor survived
    assert list(find_journals(tmp_path)) == [again.path]
    again.ack(again.pending()[0].end)
    again.close()
    assert not (tmp_path / "run1").exists()  # everything acknowledged: cleaned up


def test_a_live_journal_is_locked(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, "run", "s")
    with pytest.raises(OSError):
        Journal(j.path)
    j.close()


def test_pending_reads_whole_lines_only(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, "run", "s")
    big = b"x" * 100_000
    j.append([encode("POST", f"/{i}", big) for i in range(5)])
    got = j.pending(max_bytes=150_000)
    assert [r.path for r in got] == ["/0", "/1"] and all(r.body == big for r in got)
    j.close(remove_if_done=False)
