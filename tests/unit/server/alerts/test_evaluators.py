"""The metric condition evaluators and the episode rules, on series (Hypothesis where it helps)."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from trainboard.server.alerts import conditions, episodes, evaluators


def run(cond: dict[str, object], values: list[float], key: str = "loss") -> list[bool | None]:
    ev = evaluators.make(conditions.parse(cond), key)
    out = []
    for i, v in enumerate(values):
        verdict = ev.observe(i, float(i), v)
        out.append(None if verdict is None else verdict.active)
    return out


def test_nan_and_inf() -> None:
    assert run({"kind": "nan"}, [1.0, math.nan, math.inf, -math.inf, 2.0]) == [False, True, True, True, False]


def test_threshold_above_and_below_ignore_nan() -> None:
    assert run({"kind": "threshold", "key": "loss", "value": 5}, [1, 6, math.nan, 4]) == [False, True, None, False]
    assert run({"kind": "threshold", "key": "loss", "op": "below", "value": 5}, [1, 6]) == [True, False]


def test_change_spike_after_the_window_fills() -> None:
    values = [1.0 + 0.01 * (i % 3) for i in range(20)] + [50.0, 1.01]
    verdicts = run({"kind": "change", "key": "loss", "window": 20, "z": 6}, values)
    assert verdicts[:10] == [None] * 10
    assert verdicts[20] is True and verdicts[21] is False


def test_divergence_against_the_running_minimum() -> None:
    values = [4.0, 3.0, 2.0, 1.5, 1.0, 1.0, 1.5, 2.5]
    verdicts = run({"kind": "divergence", "key": "loss", "factor": 2}, values)
    assert verdicts[-1] is True and verdicts[-2] is False


def test_plateau_after_n_steps_without_improvement() -> None:
    values = [5.0, 4.0, 3.0] + [3.0] * 10
    verdicts = run({"kind": "plateau", "key": "loss", "steps": 5}, values)
    assert verdicts[6] is False and verdicts[7] is True


def test_throughput_drop_vs_rolling_median() -> None:
    ev = evaluators.make(conditions.parse({"kind": "throughput", "window": 6}), "")
    out = []
    wall = 0.0
    for step in range(1, 120):
        wall += 1.0 if step < 80 else 4.0  # 1 step/s, then 0.25 step/s
        verdict = ev.observe(step, wall, 0.0)
        out.append(None if verdict is None else verdict.active)
    judged = [v for v in out if v is not None]
    assert True not in judged[:10] and True in judged  # later the slower pace becomes the rolling median


def test_bursty_batches_at_a_steady_pace_are_not_a_throughput_drop() -> None:
    """10 steps sent together once a second (identical wall times), then a pause: no alert."""
    ev = evaluators.make(conditions.parse({"kind": "throughput"}), "")
    verdicts = []
    for batch in range(200):
        for s in range(10):
            verdict = ev.observe(batch * 10 + s, batch * 1.0 + s * 1e-5, 0.0)
            if verdict is not None:
                verdicts.append(verdict.active)
    assert verdicts and not any(verdicts)


def test_stall_default_is_at_least_60_s_and_5_medians() -> None:
    assert evaluators.stall_after([], 0) == 60.0
    assert evaluators.stall_after([30.0, 20.0, 40.0], 0) == 150.0
    assert evaluators.stall_after([1.0], 5.0) == 5.0


def test_conditions_name_the_bad_field() -> None:
    for raw, field in [
        ({"kind": "bogus"}, "kind"),
        ({"kind": "threshold", "key": "loss"}, "value"),
        ({"kind": "threshold", "key": "loss", "value": "x"}, "value"),
        ({"kind": "threshold", "key": "loss", "value": 1, "op": "sideways"}, "op"),
        ({"kind": "nan", "treshold": 3}, "treshold"),
        ({"kind": "log", "pattern": "("}, "pattern"),
        ({"kind": "status", "statuses": ["exploded"]}, "statuses"),
    ]:
        try:
            conditions.parse(raw)
        except conditions.ConditionError as exc:
            assert exc.field == field, raw
        else:
            raise AssertionError(f"accepted {raw}")


@given(st.lists(st.booleans(), max_size=60))
def test_one_fire_and_one_resolve_per_episode(actives: list[bool]) -> None:
    """Whatever the verdicts, firing and resolving alternate, one of each per stretch of True."""
    current: episodes.Open | None = None
    actions = []
    for t, active in enumerate(actives):
        action = episodes.step(current, active=active, now=float(t), for_seconds=0, repeat_seconds=None)
        actions.append(action)
        if action == "fire":
            current = episodes.Open("firing", float(t), float(t))
        elif action == "resolve":
            current = None
    fired = [a for a in actions if a in ("fire", "resolve")]
    assert all(a != b for a, b in itertools.pairwise(fired))
    stretches = sum(1 for i, a in enumerate(actives) if a and (i == 0 or not actives[i - 1]))
    assert actions.count("fire") == stretches


def test_pending_period_and_repeat() -> None:
    assert episodes.step(None, active=True, now=0, for_seconds=10, repeat_seconds=None) == "pend"
    pending = episodes.Open("pending", 0.0)
    assert episodes.step(pending, active=True, now=5, for_seconds=10, repeat_seconds=None) == "none"
    assert episodes.step(pending, active=True, now=10, for_seconds=10, repeat_seconds=None) == "fire"
    assert episodes.step(pending, active=False, now=5, for_seconds=10, repeat_seconds=None) == "drop"
    firing = episodes.Open("firing", 0.0, 0.0)
    assert episodes.step(firing, active=True, now=30, for_seconds=0, repeat_seconds=60) == "none"
    assert episodes.step(firing, active=True, now=60, for_seconds=0, repeat_seconds=60) == "repeat"


_CONDITIONS = [
    {"kind": "nan"},
    {"kind": "threshold", "key": "loss", "value": 0.5},
    {"kind": "threshold", "key": "loss", "op": "below", "value": -0.5},
    {"kind": "change", "key": "loss", "window": 8, "z": 2.0, "min_points": 3},
    {"kind": "divergence", "key": "loss", "factor": 1.5, "min_points": 2},
    {"kind": "plateau", "key": "loss", "steps": 4},
    {"kind": "plateau", "key": "loss", "mode": "max", "delta": 0.1, "steps": 3},
]
_VALUES = st.one_of(st.floats(-2, 2), st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))


def _episode_actions(verdicts: list[evaluators.Verdict]) -> list[tuple[str, int]]:
    """What the episodes do with a verdict stream (the engine's use of it)."""
    current: episodes.Open | None = None
    out: list[tuple[str, int]] = []
    for v in verdicts:
        action = episodes.step(current, active=v.active, now=v.wall, for_seconds=0, repeat_seconds=None)
        if action == "fire":
            current = episodes.Open("firing", v.wall, v.wall)
        elif action == "resolve":
            current = None
        if action != "none":
            out.append((action, v.step))
    return out


@settings(max_examples=400)
@given(
    cond=st.sampled_from(_CONDITIONS),
    batches=st.lists(st.lists(_VALUES, max_size=5), max_size=10),  # short batches: many batch boundaries
)
def test_scanning_a_batch_moves_episodes_as_observing_every_point(
    cond: dict[str, object], batches: list[list[float]]
) -> None:
    """``scan`` keeps only the verdicts that can move an episode: the alerts fired and resolved are the same as
    from every point's verdict, batch after batch (state carried across batches)."""
    parsed = conditions.parse(cond)
    by_point, by_batch = evaluators.make(parsed, "loss"), evaluators.make(parsed, "loss")
    every: list[evaluators.Verdict] = []
    kept: list[evaluators.Verdict] = []
    step = 0
    for batch in batches:
        points = [(step + i, float(step + i), v) for i, v in enumerate(batch)]
        step += len(batch)
        for s, w, v in points:
            verdict = by_point.observe(s, w, v)
            if verdict is not None:
                every.append(verdict)
        kept += by_batch.scan(points)
    assert _episode_actions(kept) == _episode_actions(every)
    assert [v for v in kept if v.active] == [v for v in every if v.active]
