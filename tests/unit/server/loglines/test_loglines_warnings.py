"""The `warnings` module's formats are WARNING, with and without a category; look-alikes are not."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trainboard.server.loglines import Level, LevelDetector, LineSplitter, classify

LIGHTNING = (
    "/usr/lib/python3.11/site-packages/lightning/pytorch/trainer/connectors/logger_connector/logger_connector.py:76: "
    "Starting from v1.9.0, `tensorboardX` has been removed as a dependency of the `lightning.pytorch` package, due "
    "to potential conflicts with other packages in the ML ecosystem. For this reason, `logger=True` will use "
    "`CSVLogger` as the default logger, unless the `tensorboard` or `tensorboardX` packages are found."
)

WARNINGS: list[str] = [
    LIGHTNING,
    "file.py:12: UserWarning: text",
    "/opt/lib/data.py:88: DeprecationWarning: `x` is deprecated",
    "train.py:3: the dataloader has 1 worker",  # rank_zero_warn-style, relative path
    "C:\\Users\\me\\train.py:3: PossibleUserWarning: few workers",
    "src/mod.pyx:40: slow path taken",
    "./x.py:1: note that",  # `note that` is not mypy's `note:`
]

NOT_WARNINGS: list[tuple[str, Level]] = [
    ("10:32:01: done", Level.INFO),
    ("http://x:80: ok", Level.INFO),
    ("https://example.com/a.py:80: ok", Level.INFO),  # a URL, not a path (the scheme's `:`)
    ("epoch 3: loss 0.5", Level.INFO),
    ("see utils.py:12 for details", Level.INFO),
    ("utils.py:12:no space after the colon", Level.INFO),
    ("saving to out.py: done", Level.INFO),
    ("x.py:12: note: See https://mypy.readthedocs.io", Level.INFO),
    ("tests/test_x.py:12: AssertionError", Level.INFO),
    ("x.py:12: error: Incompatible types", Level.ERROR),
    ("step 12: model.py:3: stored", Level.INFO),  # not at the start
    ('  File "train.py", line 3, in <module>', Level.INFO),
]


@pytest.mark.parametrize("text", WARNINGS)
def test_warnings_format_is_warning(text: str) -> None:
    assert classify(text) == Level.WARNING
    assert LevelDetector().level(text) == Level.WARNING


@pytest.mark.parametrize(("text", "level"), NOT_WARNINGS)
def test_look_alikes_keep_their_level(text: str, level: Level) -> None:
    assert classify(text) == level


def test_real_warnings_output_with_and_without_category_is_warning(tmp_path: Path) -> None:
    """What the `warnings` module really writes to stderr, and Lightning's category-less format."""
    script = (
        "import warnings\n"
        "warnings.warn('num_workers is 0')\n"
        "warnings.formatwarning = lambda m, c, f, n, line=None: f'{f}:{n}: {m}\\n'\n"
        "warnings.warn('Starting from v1.9.0, `tensorboardX` has been removed')\n"
        "print('after')\n"
    )
    path = tmp_path / "train.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, timeout=60, check=True)
    splitter = LineSplitter()
    got = splitter.feed(done.stderr, 0.0) + splitter.flush()
    assert [line.text for line in got] == [  # message + its source line, then the category-less one
        f"{path}:2: UserWarning: num_workers is 0",
        "  warnings.warn('num_workers is 0')",
        f"{path}:4: Starting from v1.9.0, `tensorboardX` has been removed",
    ]
    assert [line.level for line in got] == [Level.WARNING] * 3


def test_only_the_indented_line_right_after_a_warning_is_its_source_line() -> None:
    detector = LevelDetector()
    lines = [
        warnings.formatwarning("x is slow", UserWarning, "/a/b.py", 7, "warnings.warn('x is slow')").rstrip("\n"),
        "  an indented line two lines later",
    ]
    head, source = lines[0].split("\n")
    assert [detector.level(t) for t in [head, source, *lines[1:]]] == [Level.WARNING, Level.WARNING, Level.INFO]


def test_an_indented_line_after_an_ordinary_warning_is_not_promoted() -> None:
    detector = LevelDetector()
    assert [detector.level(t) for t in ["WARNING: disk almost full", "  details"]] == [Level.WARNING, Level.INFO]


_times = st.builds(
    lambda h, m, s, rest: f"{h:02d}:{m:02d}:{s:02d}: {rest}",
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["done", "epoch 3 finished", "loss 0.5", "saved checkpoint"]),
)
_urls = st.builds(
    lambda scheme, host, port, path, rest: f"{scheme}://{host}:{port}{path}: {rest}",
    st.sampled_from(["http", "https", "ws", "redis"]),
    st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
    st.integers(1, 65535),
    st.sampled_from(["", "/", "/api/x.py", "/a/b"]),
    st.sampled_from(["ok", "connected", "listening"]),
)


@given(_times | _urls)
def test_times_and_urls_are_not_warnings(text: str) -> None:
    assert classify(text) == Level.INFO


@given(
    st.from_regex(r"(/[A-Za-z0-9_.-]{1,12}){1,6}\.py", fullmatch=True),
    st.integers(1, 10**6),
    st.from_regex(r"[A-Za-z`][A-Za-z0-9 ,.`'()-]{0,80}", fullmatch=True),
)
def test_any_path_lineno_message_is_a_warning(path: str, lineno: int, message: str) -> None:
    if message.startswith("note:") or message.split(" ", 1)[0].rstrip(".").endswith(("Error", "Exception")):
        return
    assert classify(f"{path}:{lineno}: {message}") >= Level.WARNING
