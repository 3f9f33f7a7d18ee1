"""Log export from a real ``trainboard serve`` to the Loki stand-in, the OTLP receiver and Debian's rsyslog.

Lines posted through the API and printed to a run's terminal, and the run's status change, must reach every sink
once, with the labels (project, run, level, stream) each is configured for, and nothing a sink's filters leave
out. A sink that hangs must not hold up ingest: the requests return while it is stuck, what overflows its buffer
is dropped and counted in ``/metrics`` and ``GET /api/export/status``, and once it answers again it gets what is
still buffered. A bad ``exporters.toml`` stops ``serve`` with a message naming the file, the sink and the field.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.loki_standin import LokiStandIn, loki_standin
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.support.rsyslog import Rsyslog, rsyslog
from tests.support.servers import ServerProcess

LEVELS = ["INFO", "WARNING", "ERROR", "DEBUG", "CRITICAL"]


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def create_run(http: httpx.Client, name: str, project: str) -> str:
    answer = http.post("/api/runs", json={"name": name, "project": project})
    assert answer.status_code in (200, 201), answer.text
    return str(answer.json()["id"])


def post_lines(http: httpx.Client, run_id: str, messages: list[str], levels: list[str] | None = None) -> None:
    lines = [{"message": m, "level": (levels or LEVELS)[i % len(levels or LEVELS)]} for i, m in enumerate(messages)]
    answer = http.post(f"/api/runs/{run_id}/logs/batch", json={"lines": lines})
    assert answer.status_code == 201, answer.text


def metric(http: httpx.Client, name: str, **labels: str) -> float:
    text = http.get("/metrics").text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        m = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if m and ",".join(sorted(m.group(1).split(","))) == wanted:
            return float(m.group(2))
    return 0.0


def write_config(path: Path, sinks: dict[str, dict[str, Any]]) -> Path:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    text = "".join(
        f"[sinks.{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in table.items()) for name, table in sinks.items()
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[tuple[LokiStandIn, OtlpReceiver, Rsyslog]]:
    with loki_standin() as loki, otlp_receiver() as otlp, rsyslog(tmp_path) as syslog:
        yield loki, otlp, syslog


def test_every_line_and_event_reaches_each_sink_once_with_its_labels(
    make_server: Callable[..., ServerProcess], tmp_path: Path, sinks: tuple[LokiStandIn, OtlpReceiver, Rsyslog]
) -> None:
    loki, otlp, syslog = sinks
    config = write_config(
        tmp_path / "exporters.toml",
        {
            "loki": {"type": "loki", "endpoint": loki.url, "batch_interval": 0.2, "headers": "X"},
            "otel": {"type": "otlp", "endpoint": otlp.endpoint, "batch_interval": 0.2, "service_name": "tb-test"},
            "syslog_tcp": {"type": "syslog", "endpoint": f"tcp://127.0.0.1:{syslog.tcp_port}", "batch_interval": 0.2},
            "syslog_udp": {
                "type": "syslog",
                "endpoint": f"udp://127.0.0.1:{syslog.udp_port}",
                "min_level": "error",
                "projects": ["vision*"],
                "app_name": "tb-warn",
                "facility": "local3",
                "labels": ["run", "level"],
                "events": False,
                "batch_interval": 0.2,
            },
        },
    )
    config.write_text(config.read_text().replace('headers = "X"', 'headers = { "X-Scope-OrgID" = "team-a" }'))
    server = make_server("--exporters", str(config))
    with server.client() as http:
        vision = create_run(http, "exp-1", "vision-a")
        other = create_run(http, "exp-2", "nlp")
        messages = [f"line {i} of vision 'quoted' \"double\" ]bracket" for i in range(40)]
        post_lines(http, vision, messages)
        post_lines(http, vision, ["line 40 of vision", "line 41 of vision"])  # a second commit
        post_lines(http, other, [f"nlp line {i}" for i in range(10)], ["ERROR"])
        raw = base64.b64encode(b"epoch 1 loss 0.5\r\nepoch 2 loss 0.4\n").decode()
        answer = http.post(f"/api/runs/{other}/logs/raw", json={"chunks": [{"source": "stdout", "data": raw}]})
        assert answer.status_code == 200, answer.text
        assert http.put(f"/api/runs/{vision}", json={"status": "failed", "exit_code": 3}).status_code == 200
        assert http.put(f"/api/runs/{other}", json={"status": "completed"}).status_code == 200  # the last line ends

        all_vision = [*messages, "line 40 of vision", "line 41 of vision"]
        expected = len(all_vision) + 10 + 2 + 2  # lines, terminal lines, the status changes
        wait_for("Loki", lambda: len(loki.entries) >= expected)
        wait_for("OTLP", lambda: len(otlp.records) >= expected)
        wait_for("rsyslog", lambda: len(syslog.messages()) >= expected + 16)  # + the UDP sink's error lines
        time.sleep(1.0)  # anything sent twice would have arrived by now

        # Loki: each line once, labelled, in order within each stream; the tenant header sent
        assert len(loki.entries) == expected and not loki.refused
        assert all(h.get("x-scope-orgid") == "team-a" for h in loki.headers)
        by_line = {e.line: e for e in loki.entries}
        assert len(by_line) == len(loki.entries)
        assert sorted(e.line for e in loki.entries if e.labels.get("run") == vision and "vision" in e.line) == sorted(
            all_vision
        )
        first = by_line[messages[1]]
        assert first.labels == {"project": "vision-a", "run": vision, "level": "warning"}
        assert by_line["nlp line 0"].labels == {"project": "nlp", "run": other, "level": "error"}
        assert by_line["epoch 2 loss 0.4"].labels == {"project": "nlp", "run": other, "level": "info"}
        assert by_line[f"run {other} running -> completed"].labels == {"project": "nlp", "run": other, "level": "info"}
        status = [e for e in loki.entries if "running -> failed" in e.line]
        assert len(status) == 1 and status[0].labels == {"project": "vision-a", "run": vision, "level": "error"}
        assert "exit code 3" in status[0].line
        vision_info = [e for e in loki.entries if e.labels == {"project": "vision-a", "run": vision, "level": "info"}]
        assert [e.line for e in vision_info] == [m for i, m in enumerate(all_vision) if i % 5 == 0 and i < 40] + [
            "line 40 of vision"
        ]

        # OTLP: body, severity, labels as attributes, the resource's service name
        bodies = otlp.bodies()
        assert sorted(bodies) == sorted(e.line for e in loki.entries)
        rec = next(r for r in otlp.records if r.body == messages[2])
        assert rec.resource["service.name"] == "tb-test"
        assert (rec.severity_number, rec.severity_text) == (17, "ERROR")
        assert rec.attributes["trainboard.run"] == vision and rec.attributes["trainboard.project"] == "vision-a"
        assert rec.time_ns == next(e.time_ns for e in loki.entries if e.line == messages[2])
        event = next(r for r in otlp.records if "running -> failed" in str(r.body))
        assert event.attributes["new_status"] == "failed" and event.attributes["exit_code"] == 3

        # syslog over TCP: every record, labels as structured data, severity from the level
        tcp = [m for m in syslog.messages() if m.app_name == "trainboard"]
        assert sorted(m.msg for m in tcp) == sorted(bodies)
        msg = next(m for m in tcp if m.msg == messages[1])
        assert (msg.severity, msg.facility, msg.msgid) == (4, 1, "line")
        assert msg.structured_data == f'[trainboard@32473 project="vision-a" run="{vision}" level="warning"]'
        quoted = next(m for m in tcp if m.msg == messages[0])
        assert quoted.msg == messages[0]  # quotes and brackets in the text arrive as printed
        assert next(m for m in tcp if "running -> failed" in m.msg).msgid == "event"

        # syslog over UDP with filters: error and critical lines of vision* projects only, no events
        udp = [m for m in syslog.messages() if m.app_name == "tb-warn"]
        assert sorted(m.msg for m in udp) == sorted(m for i, m in enumerate(messages) if i % 5 in (2, 4))
        assert {m.facility for m in udp} == {19} and {m.severity for m in udp} == {2, 3}
        assert udp[0].structured_data.startswith(f'[trainboard@32473 run="{vision}" level=')

        status_body = http.get("/api/export/status").json()
        by_name = {s["name"]: s for s in status_body["sinks"]}
        assert by_name["loki"]["exported"] == expected and by_name["loki"]["dropped"] == 0
        assert by_name["syslog_udp"]["exported"] == 16
        assert metric(http, "trainboard_exported_total", sink="otel") == expected


def test_a_stuck_sink_never_holds_up_ingest_and_overflow_is_counted(tmp_path: Path) -> None:
    with loki_standin() as loki:
        config = write_config(
            tmp_path / "exporters.toml",
            {
                "loki": {
                    "type": "loki",
                    "endpoint": loki.url,
                    "batch_interval": 0.1,
                    "batch_size": 10,
                    "max_buffer": 50,
                    "timeout": 60.0,
                }
            },
        )
        server = ServerProcess(tmp_path / "data", None, extra_args=["--exporters", str(config)]).start()
        try:
            with server.client() as http:
                run = create_run(http, "stuck", "p")
                loki.hold()
                post_lines(http, run, ["first"])
                wait_for("the push to hang", lambda: loki.held == 1)
                started = time.monotonic()
                for part in range(4):  # 200 lines while the only request the sink got hangs
                    post_lines(http, run, [f"line {part * 50 + i}" for i in range(50)])
                took = time.monotonic() - started
                assert took < 10.0, f"ingest waited for the stuck sink: {took:.1f} s"
                assert loki.held == 1 and loki.entries == []

                assert metric(http, "trainboard_export_dropped_total", sink="loki", reason="buffer_full") == 150
                status = http.get("/api/export/status").json()["sinks"][0]
                assert (status["dropped"], status["buffered"], status["max_buffer"]) == (150, 50, 50)
                assert server.log_path is not None
                warnings = [line for line in server.log_path.read_text().splitlines() if "export sink 'loki'" in line]
                assert len(warnings) == 1 and "records dropped since the last warning" in warnings[0]  # once a minute

                loki.release()
                wait_for("what was buffered", lambda: len(loki.entries) == 51)
                time.sleep(0.5)
                in_time_order = [e.line for e in sorted(loki.entries, key=lambda e: e.time_ns)]
                assert in_time_order == ["first"] + [f"line {i}" for i in range(150, 200)]  # the newest were kept
                assert metric(http, "trainboard_exported_total", sink="loki") == 51
        finally:
            server.stop()


def test_a_sink_that_was_down_gets_what_is_still_buffered_and_its_error_is_shown(tmp_path: Path) -> None:
    with otlp_receiver() as otlp, loki_standin() as loki, rsyslog(tmp_path) as syslog:
        config = write_config(
            tmp_path / "exporters.toml",
            {
                "loki": {"type": "loki", "endpoint": loki.url, "batch_interval": 0.1},
                "otel": {"type": "otlp", "endpoint": otlp.endpoint, "batch_interval": 0.1, "timeout": 2.0},
                "syslog": {"type": "syslog", "endpoint": f"tcp://127.0.0.1:{syslog.tcp_port}", "batch_interval": 0.1},
            },
        )
        server = ServerProcess(tmp_path / "data", None, extra_args=["--exporters", str(config)]).start()
        try:
            with server.client() as http:
                run = create_run(http, "outage", "p")
                post_lines(http, run, ["before the outage"])  # the syslog sink's connection is open when it goes
                wait_for("the first line", lambda: len(syslog.messages()) == 1 and len(loki.entries) == 1)
                loki.stop()
                otlp.stop()
                syslog.stop()
                post_lines(http, run, [f"during outage {i}" for i in range(30)])

                def failing() -> bool:
                    sinks = http.get("/api/export/status").json()["sinks"]
                    return all(s["failed_attempts"] >= 1 and s["retrying"] for s in sinks)

                wait_for("both sinks to fail", failing)
                loki_status = http.get("/api/export/status").json()["sinks"][0]
                assert "ConnectError" in loki_status["last_error"] and loki_status["buffered"] + 30 >= 30
                assert loki_status["endpoint"] == loki.url
                assert metric(http, "trainboard_export_failed_total", sink="loki") >= 1

                loki.start()
                otlp.start()
                syslog.start()
                wait_for("Loki after the outage", lambda: len(loki.entries) == 31, timeout=60)
                wait_for("OTLP after the outage", lambda: len(otlp.records) == 31, timeout=60)
                wait_for("rsyslog after the outage", lambda: len(syslog.messages()) == 31, timeout=60)
                time.sleep(0.5)
                outage = [f"during outage {i}" for i in range(30)]
                assert [e.line for e in sorted(loki.entries, key=lambda e: e.time_ns)] == ["before the outage", *outage]
                assert sorted(otlp.bodies()) == sorted(["before the outage", *outage])
                assert [m.msg for m in syslog.messages()] == ["before the outage", *outage]
                assert all(s["dropped"] == 0 for s in http.get("/api/export/status").json()["sinks"])
        finally:
            server.stop()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[sinks.main]\ntype = "kafka"\nendpoint = "http://x"\n',
            "[sinks.main] type: must be one of loki, otlp, syslog",
        ),
        ('[sinks.main]\ntype = "loki"\n', "[sinks.main] endpoint: required"),
        ('[sinks.sl]\ntype = "syslog"\nendpoint = "tcp://h"\n', "[sinks.sl] endpoint: needs a port"),
        ('[sinks.l]\ntype = "loki"\nendpoint = "http://h"\nlabels = ["team"]\n', "[sinks.l] labels: unknown 'team'"),
        (
            '[sinks.l]\ntype = "loki"\nendpoint = "http://h"\nmax_buffer = 0\n',
            "[sinks.l] max_buffer: must be a whole number",
        ),
        ('[sinks.l]\ntype = "loki"\nendpoint = "http://h"\nbatchsize = 5\n', "[sinks.l] batchsize: unknown field"),
        ("[sinks.l\n", "exporters.toml: Expected ']'"),
    ],
)
def test_a_bad_exporters_file_stops_serve_naming_file_sink_and_field(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "exporters.toml"
    config.write_text(toml, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "trainboard.cli", "serve", "--data", str(tmp_path / "d"), "--port", "0"],
        env={**os.environ, "TRAINBOARD_EXPORTERS": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert str(config) in done.stderr and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_alerts_are_exported_as_events_of_their_run(tmp_path: Path) -> None:
    with loki_standin() as loki:
        config = write_config(
            tmp_path / "exporters.toml", {"loki": {"type": "loki", "endpoint": loki.url, "batch_interval": 0.1}}
        )
        server = ServerProcess(tmp_path / "data", None, extra_args=["--exporters", str(config)]).start()
        try:
            with server.client() as http:
                rule = {"name": "failures", "project": "alerting", "condition": {"kind": "status"}}
                assert http.post("/api/alert-rules", json=rule).status_code == 201
                run = create_run(http, "doomed", "alerting")
                assert http.put(f"/api/runs/{run}", json={"status": "failed", "exit_code": 1}).status_code == 200
                wait_for("the alert", lambda: any(e.line.startswith("alert firing") for e in loki.entries))
                (alert,) = [e for e in loki.entries if e.line.startswith("alert")]
                assert alert.labels == {"project": "alerting", "run": run, "level": alert.labels["level"]}
                assert alert.labels["level"] in ("warning", "error", "critical")
                assert [e.line for e in loki.entries if e.line.startswith("run ")] == [
                    f"run {run} running -> failed (exit code 1)"
                ]
        finally:
            server.stop()
