"""``trainboard run``'s fast reading of a plain command line (``cli_record.parse_plain``) gives the recording
exactly what Typer's reading of the same line gives, and hands every other line to Typer.

Both readings are run for real: Typer through the app ``cli.build_app`` makes (``record`` replaced by a recorder
of its arguments), the fast one through ``parse_plain``; the arguments ``record`` would be called with are
compared with ``record``'s defaults filled in.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from trainboard import cli, cli_record

PLAIN = [
    ["--", "python", "train.py"],
    ["--name", "a", "--project=p", "--no-mirror", "--flush-timeout", "2.5", "--system-interval", "0", "--", "echo"],
    ["--merge-stderr", "--no-parse-metrics", "--run-id", "abc-1", "--data", "/tmp/d", "--", "cmd", "x"],
    ["--url", "http://127.0.0.1:9", "--token=t0k", "--flush-timeout=1e2", "--", "cmd"],
    ["--separate-stderr", "--parse-metrics", "--mirror", "--", "a", "--name", "b", "--", "c"],
    ["--name", "first", "--name", "second", "--", "a"],
]
FOR_TYPER = [
    ["python", "train.py"],  # CMD without `--`: Typer reads options after it too
    ["--help"],
    ["-h"],
    ["--nam", "x", "--", "a"],
    ["--name", "--", "a"],
    ["--name"],
    ["--name", "-x", "--", "a"],
    ["--flush-timeout", "soon", "--", "a"],
    ["--flush-timeout", "nan", "--", "a"],
    ["--system-interval", "-1", "--", "a"],
    ["--mirror=yes", "--", "a"],
    ["--"],
    [],
]


def with_defaults(kwargs: dict[str, Any]) -> dict[str, Any]:
    defaults = {
        name: p.default
        for name, p in inspect.signature(cli_record.record).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return defaults | kwargs


def typer_reading(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, Any]]:
    seen: list[tuple[list[str], dict[str, Any]]] = []

    def fake_record(argv: list[str], **kwargs: Any) -> int:
        seen.append((list(argv), kwargs))
        return 0

    monkeypatch.setattr(cli_record, "record", fake_record)
    result = CliRunner().invoke(cli.build_app(["run", *args]), ["run", *args])
    assert result.exit_code == 0, result.output
    assert len(seen) == 1
    return seen[0][0], with_defaults(seen[0][1])


@pytest.mark.parametrize("args", PLAIN, ids=lambda a: " ".join(a))
def test_a_plain_line_reads_as_typer_reads_it(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINBOARD_URL", raising=False)
    parsed = cli_record.parse_plain(args)
    assert parsed is not None
    opts, argv = parsed
    assert (argv, with_defaults(opts)) == typer_reading(args, monkeypatch)


@pytest.mark.parametrize("args", FOR_TYPER, ids=lambda a: " ".join(a) or "(nothing)")
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert cli_record.parse_plain(args) is None


def test_a_plain_line_records_without_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], dict[str, Any]]] = []

    def fake_record(argv: list[str], **kwargs: Any) -> int:
        calls.append((list(argv), kwargs))
        return 7

    monkeypatch.setattr(cli_record, "record", fake_record)
    assert cli_record.fast_run(["--data", "d", "--", "x"]) == 7
    assert calls == [(["x"], {"data": Path("d")})]
    assert cli_record.fast_run(["x"]) is None


def test_a_refused_line_is_one_error_line_and_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_record.fast_run(["--run-id", "no/slash", "--", "true"]) == 2
    err = capsys.readouterr().err
    assert "--run-id must be 1-64 characters" in err and "Traceback" not in err
