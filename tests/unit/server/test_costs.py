"""Prices from providers.toml's rates (server/costs.py): which rate a launch gets, and none rather than a guess."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainboard.server.costs import Rates, parse_rates, price_of
from trainboard.server.providers.registry import ConfigError, load_config

RATES = Rates(gpu={"A100": 1.8}, per_provider={"slurm": {"A100": 1.2}}, flat={"local": 0.3})


def test_a_gpu_type_costs_its_rate_per_gpu_and_a_providers_own_rate_wins() -> None:
    usd, source = price_of("ray", {"gpu_type": "A100", "gpus": 4}, RATES)
    assert usd == pytest.approx(7.2) and source == "providers.toml [rates]: 4 × A100 at $1.8/GPU-hour"
    usd, source = price_of("slurm", {"gpu_type": "A100", "gpus": 0}, RATES)
    assert usd == 1.2 and "[providers.slurm.rates]: 1 × A100" in source


def test_without_a_matching_rate_there_is_no_price_and_the_reason_says_where_to_set_one() -> None:
    usd, source = price_of("ray", {"gpu_type": "H100", "gpus": 1}, RATES)
    assert usd is None and "no rate for GPU type 'H100'" in source
    usd, source = price_of("slurm", {"gpus": 0}, RATES)
    assert usd is None and "[providers.slurm] rate_per_hour" in source
    assert price_of("local", {"gpus": 0}, RATES) == (0.3, "providers.toml [providers.local] rate_per_hour")
    usd, source = price_of("runpod", {"gpu_type": "A100"}, RATES)  # RunPod's own price only
    assert usd is None and "runpod" in source


def test_rates_are_read_from_providers_toml_and_kept_from_the_providers_settings(tmp_path: Path) -> None:
    path = tmp_path / "providers.toml"
    path.write_text('[rates]\n"A100" = 1.8\n[providers.local]\nrate_per_hour = 0.3\n', encoding="utf-8")
    conf = load_config(path)
    assert conf.rates.gpu == {"A100": 1.8} and conf.rates.flat == {"local": 0.3}
    assert conf.providers["local"] == {}  # the provider never sees the server's keys
    path.write_text('[rates]\n"A100" = "cheap"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[rates\] 'A100' must be a number"):
        load_config(path)


@pytest.mark.parametrize("bad", [-1, 1e9, True, float("nan")])
def test_a_rate_must_be_a_plausible_number(bad: object) -> None:
    with pytest.raises(ValueError, match="rate_per_hour"):
        parse_rates(None, {"local": {"rate_per_hour": bad}})
