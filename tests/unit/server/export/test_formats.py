"""What each sink puts on the wire for a record: Loki's push body, the RFC 5424 message, OTLP's severity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trainboard.server.export.config import SinkConfig
from trainboard.server.export.loki import push_body
from trainboard.server.export.otlp import severity
from trainboard.server.export.records import Record, level_name, records_of
from trainboard.server.export.syslog import format_message, syslog_severity
from trainboard.server.ingest.changes import Line, LineBatch, MetricBatch, StatusChange


def record(text: str, level: int = 20, ns: int = 1_700_000_000_123_456_000, **labels: str) -> Record:
    base = {"project": "p", "run": "r1", "level": level_name(level), "stream": "stdout", "kind": "line"}
    return Record(time_ns=ns, kind="line", text=text, level_no=level, labels=base | labels, project="p")


def test_loki_streams_by_label_set_in_time_order_with_nanosecond_strings() -> None:
    body = push_body(
        [record("b", ns=20), record("a", ns=10), record("w", 30, ns=5), record("r", rank="2", ns=1)],
        ("project", "run", "rank", "level"),
    )
    streams = {tuple(sorted(s["stream"].items())): s["values"] for s in body["streams"]}
    assert streams == {
        (("level", "info"), ("project", "p"), ("run", "r1")): [["10", "a"], ["20", "b"]],
        (("level", "warning"), ("project", "p"), ("run", "r1")): [["5", "w"]],
        (("level", "info"), ("project", "p"), ("rank", "2"), ("run", "r1")): [["1", "r"]],
    }


def test_syslog_message_is_rfc5424_with_labels_as_escaped_structured_data() -> None:
    config = SinkConfig(name="s", type="syslog", endpoint="udp://h:1", labels=("run", "level"), facility=16)
    rec = record('said "hi" ] \\ done', 40, run='r"1]')
    message = format_message(rec, config=config, hostname="gpu node")
    assert message == (
        b'<131>1 2023-11-14T22:13:20.123456Z gpunode trainboard - line [trainboard@32473 run="r\\"1\\]" '
        b'level="error"] said "hi" ] \\ done'
    )
    assert [syslog_severity(n) for n in (5, 10, 20, 25, 30, 40, 50)] == [7, 7, 6, 5, 4, 3, 2]


def test_otlp_severity_follows_the_level() -> None:
    assert [severity(n).name for n in (5, 10, 20, 25, 30, 40, 50)] == [
        "TRACE",
        "DEBUG",
        "INFO",
        "INFO2",
        "WARN",
        "ERROR",
        "FATAL",
    ]


def test_records_of_lines_keep_order_and_status_changes_carry_their_details() -> None:
    lines = tuple(Line(number=n, time=100.5, source="stderr", level=30, text=f"l{n}") for n in (1998, 1999, 2000))
    recs = records_of(LineBatch(run_id="r", project="p", committed_at=101.0, lines=lines))
    assert [r.time_ns for r in recs] == [100_500_000_998, 100_500_000_999, 100_500_000_000 + 0]
    assert recs[0].labels == {"project": "p", "run": "r", "level": "warning", "stream": "stderr", "kind": "line"}
    change = StatusChange(
        run_id="r",
        project="",
        committed_at=5.0,
        old_status="running",
        new_status="failed",
        exit_code=2,
        reason="OOM",
        origin="api",
    )
    (event,) = records_of(change)
    assert (event.kind, event.level_no, event.text) == ("event", 40, "run r running -> failed (exit code 2): OOM")
    assert event.fields == {
        "event": "status",
        "old_status": "running",
        "new_status": "failed",
        "origin": "api",
        "exit_code": 2,
    }
    assert records_of(MetricBatch(run_id="r", project="", committed_at=1.0, stream=None, rows=[])) == []


@dataclass(frozen=True)
class RankedLine(Line):
    """A line as the ranks work tags them: with its rank, and a structured line's fields and printed level."""

    rank: int | None = None
    fields: dict[str, Any] | None = None
    level_name: str | None = None


def test_a_lines_rank_fields_and_printed_level_are_carried_when_the_line_has_them() -> None:
    lines = (
        RankedLine(
            number=0, time=1.0, source="stdout", level=25, text="{}", rank=3, fields={"step": 5}, level_name="PROGRESS"
        ),
        RankedLine(number=1, time=1.0, source="stdout", level=20, text="plain"),
    )
    ranked, plain = records_of(LineBatch(run_id="r", project="p", committed_at=2.0, lines=lines))
    assert (ranked.labels["rank"], ranked.labels["level"], ranked.fields) == ("3", "progress", {"step": 5})
    assert "rank" not in plain.labels and plain.labels["level"] == "info" and plain.fields == {}
