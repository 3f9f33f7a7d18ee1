"""The on-disk journal: append, pending from the ack cursor, reopen, lock, cleanup."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainboard.sdk.spool import Journal, encode, find_journals, find_leftovers, same_server


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


def test_a_torn_last_line_is_cut_at_open_and_reported(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, "run", "s")
    j.append([encode("POST", "/a", b"{}"), encode("POST", "/b", b"{}")])
    j.close(remove_if_done=False)
    with open(j.path, "ab") as fh:
        fh.write(b'POST /c\t{"unfinished')  # a writer killed mid-write
    again = Journal(j.path)
    assert again.torn == len(b'POST /c\t{"unfinished')
    assert [r.path for r in again.pending()] == ["/a", "/b"]
    for r in again.pending():
        again.ack(r.end)
    assert again.done  # a replay of it ends
    again.close()


def test_a_journal_of_only_a_torn_line_is_emptied(tmp_path: Path) -> None:
    path = tmp_path / "run" / "s.journal"
    path.parent.mkdir()
    path.write_bytes(b"POST /x\t{" * 10_000)  # no newline at all, longer than one read block
    j = Journal(path)
    assert j.torn == 90_000 and j.size == 0 and j.done and j.pending() == []
    j.close()


def test_leftovers_are_the_unacknowledged_journals_but_ours(tmp_path: Path) -> None:
    done = Journal.create(tmp_path, "a", "s")
    done.append([encode("POST", "/a", b"{}")])
    done.ack(done.size)
    done.close(remove_if_done=False)
    left = Journal.create(tmp_path, "b", "s")
    left.append([encode("POST", "/b", b"{}")])
    left.close()
    ours = Journal.create(tmp_path, "c", "s")
    ours.append([encode("POST", "/c", b"{}")])
    assert find_leftovers(tmp_path, exclude=ours.path) == [left.path]
    ours.close(remove_if_done=False)


def test_leftovers_for_a_server_are_only_the_journals_recorded_for_it(tmp_path: Path) -> None:
    mine = Journal.create(tmp_path, "a", "s", server="http://127.0.0.1:8000")
    other = Journal.create(tmp_path, "b", "s", server="http://127.0.0.1:9000")
    legacy = Journal.create(tmp_path, "c", "s")  # written before the server was recorded
    for j in (mine, other, legacy):
        j.append([encode("POST", "/x", b"{}")])
        j.close()
    assert mine.server == "http://127.0.0.1:8000" and legacy.server is None
    assert find_leftovers(tmp_path, server="http://127.0.0.1:8000/") == [mine.path]
    assert find_leftovers(tmp_path, server="http://127.0.0.1:9000") == [other.path]
    assert set(find_leftovers(tmp_path)) == {mine.path, other.path, legacy.path}


def test_a_journal_keeps_the_server_it_was_first_written_for_and_drops_it_when_uploaded(tmp_path: Path) -> None:
    j = Journal.create(tmp_path, "a", "s", server="http://a:1")
    j.append([encode("POST", "/x", b"{}")])
    j.close()
    again = Journal(j.path, server="http://b:2")
    assert again.server == "http://a:1"
    again.ack(again.size)
    again.close()
    assert not again.server_path.exists() and not again.path.exists()


def test_same_server_ignores_case_default_ports_and_trailing_slashes() -> None:
    assert same_server("HTTP://Host:80/", "http://host")
    assert same_server("https://h:443/tb/", "https://h/tb")
    assert not same_server("http://h:8000", "http://h:8001")
    assert not same_server("http://h", "https://h")
