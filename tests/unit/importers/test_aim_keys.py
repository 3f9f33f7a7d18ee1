"""The documented key for an Aim sequence tracked with a context (trainboard.importers.aim.context_key)."""

from __future__ import annotations

from trainboard.importers.aim import context_key


def test_no_context_keeps_the_name() -> None:
    assert context_key("loss", {}) == "loss"


def test_each_context_is_its_own_key_items_sorted_non_strings_as_json() -> None:
    assert context_key("loss", {"subset": "train"}) == "loss/subset=train"
    assert context_key("loss", {"subset": "val"}) == "loss/subset=val"
    assert context_key("acc", {"subset": "val", "fold": 1, "ema": True}) == "acc/ema=true,fold=1,subset=val"
