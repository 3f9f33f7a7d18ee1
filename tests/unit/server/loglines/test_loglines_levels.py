"""Level detection: the rule table, its examples, the prefilter and traceback tracking."""

from __future__ import annotations

import traceback

import pytest

from trainboard.server.loglines import LEVEL_RULES, Level, LevelDetector, classify
from trainboard.server.loglines import levels as levels_module

CASES: list[tuple[str, Level]] = [
    # Python logging defaults and %(levelname)s formats
    ("WARNING:root:learning rate is high", Level.WARNING),
    ("ERROR:trainer:step failed", Level.ERROR),
    ("DEBUG:urllib3.connectionpool:Starting new HTTPS connection", Level.DEBUG),
    ("CRITICAL:root:out of disk", Level.CRITICAL),
    ("INFO:root:epoch 3 done (0 ERROR lines)", Level.INFO),
    ("2024-01-01 12:00:00,123 - trainer - ERROR - loss diverged", Level.ERROR),
    ("2024-01-01 12:00:00,123 - trainer - INFO - validation ERROR rate 0.1", Level.INFO),
    ("[2024-01-01 12:00:00] [WARNING] slow dataloader", Level.WARNING),
    ("2024-01-01 12:00:00.123 | DEBUG    | trainer:step:12 - x", Level.DEBUG),
    # glog / absl, tornado / Jupyter
    ("W1122 12:00:00.123456  4242 trainer.py:12] slow step", Level.WARNING),
    ("E1122 12:00:00.123456  4242 trainer.py:12] NCCL timeout", Level.ERROR),
    ("F1122 12:00:00.123456  4242 check.cc:3] Check failed", Level.CRITICAL),
    ("I1122 12:00:00.123456  4242 trainer.py:12] step 3", Level.INFO),
    ("[W 12:00:00.123 ServerApp] kernel restarted", Level.WARNING),
    ("[E 2024-01-01 12:00:00.123 ServerApp] failed", Level.ERROR),
    ("[I 12:00:00.123 ServerApp] serving", Level.INFO),
    # common patterns
    ("ValueError: shapes do not match", Level.ERROR),
    ("torch.cuda.OutOfMemoryError: CUDA out of memory.", Level.ERROR),
    ("Error: file not found", Level.ERROR),
    ("KeyError", Level.ERROR),
    ("RuntimeError", Level.ERROR),
    ("step 3 failed with RuntimeError: NCCL error", Level.ERROR),
    ("/opt/lib/data.py:88: UserWarning: num_workers is 0", Level.WARNING),
    ("  warnings.warn(", Level.INFO),
    ("FutureWarning: `x` is deprecated", Level.WARNING),
    ("Warning: running on CPU", Level.WARNING),
    ("csrc/kernel.cu:12:3: error: expected ';'", Level.ERROR),
    ("warning: unused variable 'x'", Level.WARNING),
    ("worker 3 FATAL, shutting down", Level.CRITICAL),
    ("epoch 3: validation ERROR - NaN loss", Level.ERROR),
    ("checkpoint saved (WARNING: disk 95% full)", Level.WARNING),
    # things that are not errors
    ("Mean Squared Error: 0.0123", Level.INFO),
    ("train error: 0.05  val error: 0.07", Level.INFO),
    ("ErrorCount: 3", Level.INFO),
    ("Epoch 1/10", Level.INFO),
    (" 45%|████▌     | 45/100 [00:04<00:05, 10.1it/s]", Level.INFO),
    ("", Level.INFO),
    ("D", Level.INFO),
    ("INFORMATION about ERRORS", Level.INFO),
]


@pytest.mark.parametrize(("text", "level"), CASES)
def test_classify(text: str, level: Level) -> None:
    assert classify(text) == level


@pytest.mark.parametrize("rule", LEVEL_RULES, ids=lambda rule: rule.name)
def test_rule_example_is_matched_by_that_rule(rule: levels_module.LevelRule) -> None:
    first = next(r for r in LEVEL_RULES if r.match(rule.example) is not None)
    assert first.name == rule.name
    assert classify(rule.example) == rule.example_level
    assert LevelDetector().level(rule.example) == rule.example_level


@pytest.mark.parametrize("text", [text for text, _ in CASES] + [rule.example for rule in LEVEL_RULES])
def test_prefilter_never_changes_the_answer(text: str) -> None:
    unfiltered = tuple(list(LEVEL_RULES))
    assert unfiltered is not LEVEL_RULES
    assert classify(text) == classify(text, unfiltered)


def test_rules_are_in_the_documented_table() -> None:
    doc = levels_module.__doc__
    assert doc is not None
    positions = [doc.index(f"| {rule.name} ") for rule in LEVEL_RULES]
    assert positions == sorted(positions)


def _real_traceback() -> list[str]:
    try:
        try:
            empty: dict[str, int] = {}
            empty["missing"]
        except KeyError as exc:
            raise RuntimeError("could not load\nthe checkpoint") from exc
    except RuntimeError:
        return traceback.format_exc().splitlines()
    raise AssertionError("unreachable")


def test_every_line_of_a_chained_traceback_is_error() -> None:
    detector = LevelDetector()
    lines = _real_traceback()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-2:] == ["RuntimeError: could not load", "the checkpoint"]
    assert "The above exception was the direct cause of the following exception:" in lines
    assert "" in lines
    levels = [detector.level(line) for line in lines[:-1]]
    assert levels == [Level.ERROR] * (len(lines) - 1)
    # The second line of a multi-line message is beyond the traceback's end: no evidence, INFO.
    assert detector.level(lines[-1]) == Level.INFO
    assert detector.level("epoch 4 starts") == Level.INFO


def test_traceback_ends_at_the_exception_line() -> None:
    detector = LevelDetector()
    got = [
        detector.level(line)
        for line in [
            "step 1",
            "Traceback (most recent call last):",
            '  File "train.py", line 3, in <module>',
            "    main()",
            "    ^^^^^^",
            "KeyboardInterrupt",
            "  indented output after the traceback",
        ]
    ]
    assert got == [Level.INFO] + [Level.ERROR] * 5 + [Level.INFO]
    assert not detector.in_traceback


def test_exception_group_traceback() -> None:
    detector = LevelDetector()
    lines = [
        "  + Exception Group Traceback (most recent call last):",
        '  |   File "<stdin>", line 1, in <module>',
        "  | ExceptionGroup: eg (2 sub-exceptions)",
        "  +-+---------------- 1 ----------------",
        "    | ValueError: 1",
        "    +------------------------------------",
    ]
    assert [detector.level(line) for line in lines] == [Level.ERROR] * len(lines)
