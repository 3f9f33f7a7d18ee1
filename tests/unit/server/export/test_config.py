"""``exporters.toml``: the README's example is what the parser accepts, and each mistake names file, sink, field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from trainboard.server.export.config import FACILITIES, LEVELS, ConfigError, load_exporters

README = Path(__file__).resolve().parents[4] / "README.md"


def test_the_readme_example_loads_as_documented(tmp_path: Path) -> None:
    section = README.read_text().split("## Exporting logs", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.S)
    assert example is not None
    path = tmp_path / "exporters.toml"
    path.write_text(example.group(1))
    config = load_exporters(path)
    loki, collector, siem = config.sinks
    assert (loki.name, loki.type, loki.endpoint, loki.headers) == (
        "loki",
        "loki",
        "http://loki:3100",
        {"X-Scope-OrgID": "team-a"},
    )
    assert loki.labels == ("project", "run", "rank", "level") and loki.levels is None and loki.min_level == 0
    assert (collector.type, collector.service_name) == ("otlp", "trainboard")
    assert (siem.type, siem.min_level, siem.projects, siem.facility) == (
        "syslog",
        30,
        ("prod-*",),
        FACILITIES["local0"],
    )
    assert (siem.batch_size, siem.batch_interval, siem.max_buffer, siem.timeout) == (500, 1.0, 100_000, 10.0)


def test_no_file_is_no_export() -> None:
    assert load_exporters(None).sinks == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[sinks.a]\nendpoint = 'http://x'\n", "[sinks.a] type: required, one of loki, otlp, syslog"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'ftp://x'\n", "[sinks.a] endpoint: must be a http or https URL"),
        ("[sinks.a]\ntype = 'syslog'\nendpoint = 'http://x:1'\n", "[sinks.a] endpoint: must be a tcp or udp URL"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x:99999'\n", "[sinks.a] endpoint: bad port"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nlevels = ['loud']\n", "[sinks.a] levels: unknown 'loud'"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nmin_level = 'loud'\n", "[sinks.a] min_level: unknown"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nbatch_size = true\n", "[sinks.a] batch_size: must be"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nbatch_interval = 0\n", "[sinks.a] batch_interval: must"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nheaders = { a = 1 }\n", "[sinks.a] headers: must be"),
        ("[sinks.a]\ntype = 'syslog'\nendpoint = 'udp://x:5'\nfacility = 'mail2'\n", "[sinks.a] facility: unknown"),
        ("[sinks.a]\ntype = 'syslog'\nendpoint = 'udp://x:5'\napp_name = 'a b'\n", "[sinks.a] app_name: must be"),
        ("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x'\nevents = 'yes'\n", "[sinks.a] events: must be true or"),
        ("sinks = 3\n", "sinks must be [sinks.NAME] tables"),
        ("[sink.a]\n", "unknown top-level key 'sink'"),
        ("[sinks]\na = 1\n", "[sinks.a] must be a table"),
    ],
)
def test_each_mistake_names_the_file_the_sink_and_the_field(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "exporters.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_exporters(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_a_missing_file_named_explicitly_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"exporters\.toml: \[Errno 2\]"):
        load_exporters(tmp_path / "exporters.toml")


def test_levels_are_named_case_blind(tmp_path: Path) -> None:
    path = tmp_path / "exporters.toml"
    path.write_text("[sinks.a]\ntype = 'loki'\nendpoint = 'http://x/'\nlevels = ['ERROR', 'Success']\n")
    sink = load_exporters(path).sinks[0]
    assert sink.levels == frozenset({"error", "success"}) and sink.endpoint == "http://x" and LEVELS["success"] == 25
