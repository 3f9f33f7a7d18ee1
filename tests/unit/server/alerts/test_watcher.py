"""The stall/queued watcher's plan for one tick, and how channel URLs are shown (pure, no database)."""

from __future__ import annotations

from typing import Any

from trainboard.server.alerts.watcher import plan
from trainboard.server.store.alerts import mask_channel


def rule(kind: str, **cond: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "name": kind,
        "project": "p",
        "run_id": None,
        "condition": {"kind": kind, **cond},
        "for_seconds": 0.0,
        "repeat_seconds": None,
        "channels": [],
    }


RUN = {"id": "r1", "project": "p", "status": "running", "created_at": 0.0}


def test_stall_uses_the_default_from_the_median_interval() -> None:
    progress = {"r1": {"last_step": 10, "last_step_at": 1000.0, "median_interval": 20.0}}  # limit max(60, 100)
    assert plan([rule("stall")], [RUN], progress, [], now=1099.0) == []
    (op,) = plan([rule("stall")], [RUN], progress, [], now=1101.0)
    assert op.action == "fire" and "no new step for 101 s (limit 100 s) after step 10" in op.message


def test_an_open_stall_resolves_when_the_run_steps_again_or_ends() -> None:
    opened = [
        {"id": 7, "rule_id": 1, "run_id": "r1", "key": "", "state": "firing", "started_at": 0.0, "notified_at": 0.0}
    ]
    progress = {"r1": {"last_step": 11, "last_step_at": 1100.0, "median_interval": None}}
    (op,) = plan([rule("stall", seconds=5)], [RUN], progress, opened, now=1101.0)
    assert op.action == "resolve" and op.episode.alert_id == 7
    (op,) = plan([rule("stall", seconds=5)], [], {}, opened, now=1101.0)
    assert op.action == "resolve"


def test_queued_too_long() -> None:
    queued = {**RUN, "status": "queued", "created_at": 100.0}
    assert plan([rule("queued", seconds=60)], [queued], {}, [], now=150.0) == []
    (op,) = plan([rule("queued", seconds=60)], [queued], {}, [], now=161.0)
    assert op.action == "fire" and "queued for 61 s" in op.message


def test_channel_urls_are_shown_without_their_secrets() -> None:
    assert mask_channel("json://127.0.0.1:8080/hook") == "json://127.0.0.1:8080/…"
    assert mask_channel("slack://T000/B000/XXXXXXXXXXXX") == "slack://t00…/…"
    shown = mask_channel("mailto://user:hunter2@smtp.example.com?to=a@b.c")
    assert "hunter2" not in shown and shown.startswith("mailto://smtp.example.com")
    assert "s3cret" not in mask_channel("webhook+https://hooks.example.com/x?secret=s3cret")
