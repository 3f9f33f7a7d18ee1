"""The integrations' shared helpers: which values are metrics, config made JSON-friendly, the launcher's rank."""

from __future__ import annotations

import enum
import json
import math

import pytest

from trainboard.integrations._common import env_rank, numeric, plain_config


class Scalar:
    """Like a 0-d tensor / numpy scalar: ``item()`` and ``ndim == 0``."""

    ndim = 0

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


def test_numeric_keeps_numbers_and_scalars_only() -> None:
    got = numeric(
        {"loss": 0.5, "step": 3, "t": Scalar(1.5), "name": "x", "flag": True, "list": [1, 2], "nan": math.nan}
    )
    assert {k: v for k, v in got.items() if k != "nan"} == {"loss": 0.5, "step": 3, "t": 1.5}
    assert math.isnan(got["nan"])
    assert numeric({"loss": 1}, "batch/") == {"batch/loss": 1}


class Strategy(enum.Enum):
    STEPS = "steps"


def test_plain_config_is_json() -> None:
    config = plain_config({"lr": 1e-3, "s": Strategy.STEPS, "nested": {"t": (1, 2)}, "inf": math.inf, "obj": object})
    json.dumps(config, allow_nan=False)
    assert config["lr"] == 1e-3 and config["s"] == "steps" and config["nested"] == {"t": [1, 2]}
    assert config["inf"] == "inf" and config["obj"] == str(object)


@pytest.mark.parametrize(
    ("env", "rank"),
    [
        ({}, 0),
        ({"RANK": "3", "LOCAL_RANK": "0"}, 3),
        ({"LOCAL_RANK": "1"}, 1),
        ({"SLURM_PROCID": "2"}, 2),
        ({"RANK": "", "LOCAL_RANK": "0"}, 0),
        ({"RANK": "x"}, 0),
    ],
)
def test_env_rank(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], rank: int) -> None:
    for name in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert env_rank() == rank
