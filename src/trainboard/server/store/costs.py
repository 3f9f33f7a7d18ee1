"""What runs cost: each launched run's price ($/hour, where it came from, since when) and each project's budget.

A run's cost is never stored as a number that goes stale: it is its price times the hours from ``billed_from``
(when it was launched) to its end (now while it runs), computed when asked (:func:`cost_expr` in SQL for the
runs query's sort, :func:`costs_of` in Python for the API). A run without a row, or whose price is not known
(yet: RunPod says it once the pod exists), has no cost: ``None``, never a guess.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, Connection, Float, String, Table, Text, case, delete, func, insert, select, update

from trainboard.server.store.tables import metadata, runs

run_costs = Table(
    "run_costs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("usd_per_hour", Float),  # None: the price is not known (yet)
    Column("source", Text, nullable=False, server_default=""),
    Column("billed_from", Float, nullable=False),
)

project_budgets = Table(
    "project_budgets",
    metadata,
    Column("project", String(256), primary_key=True),
    Column("usd", Float, nullable=False),
    Column("set_by", String(256)),
    Column("set_at", Float, nullable=False),
    Column("crossed_at", Float),  # when the project's spending last crossed it (None: not crossed)
    Column("crossed_usd", Float),
)


def set_price(
    conn: Connection, *, run_id: str, usd_per_hour: float | None, source: str, billed_from: float | None = None
) -> bool:
    """Record (or change) a run's price; ``billed_from`` only when the row is new. False when nothing changed."""
    row = conn.execute(select(run_costs).where(run_costs.c.run_id == run_id)).mappings().first()
    if row is None:
        conn.execute(
            insert(run_costs).values(
                run_id=run_id,
                usd_per_hour=usd_per_hour,
                source=source,
                billed_from=time.time() if billed_from is None else billed_from,
            )
        )
        return True
    if row["usd_per_hour"] == usd_per_hour and row["source"] == source:
        return False
    conn.execute(update(run_costs).where(run_costs.c.run_id == run_id).values(usd_per_hour=usd_per_hour, source=source))
    return True


def _end(now: float) -> Any:
    return func.coalesce(runs.c.end_time, now)


def cost_expr(now: float) -> Any:
    """SQL: a run's cost in USD at ``now`` (NULL without a known price); needs ``run_costs`` joined to ``runs``."""
    hours = (_end(now) - run_costs.c.billed_from) / 3600.0
    return case(
        (run_costs.c.usd_per_hour.is_(None), None),
        (hours < 0, 0.0),
        else_=run_costs.c.usd_per_hour * hours,
    )


def cost_of(price: dict[str, Any] | None, *, end_time: float | None, now: float) -> dict[str, Any] | None:
    """The API's ``cost`` of a run with ``price`` (a ``run_costs`` row): ``{"usd", "usd_per_hour", "source",
    "hours", "live", "billed_from"}``; ``None`` when the price is unknown."""
    if price is None or price["usd_per_hour"] is None:
        return None
    end = end_time if end_time is not None else now
    hours = max(0.0, (end - float(price["billed_from"])) / 3600.0)
    return {
        "usd": round(float(price["usd_per_hour"]) * hours, 6),
        "usd_per_hour": float(price["usd_per_hour"]),
        "source": price["source"],
        "hours": round(hours, 6),
        "live": end_time is None,
        "billed_from": float(price["billed_from"]),
    }


def prices(conn: Connection, run_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(dict.fromkeys(run_ids))
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(select(run_costs).where(run_costs.c.run_id.in_(chunk))).mappings():
            out[row["run_id"]] = dict(row)
    return out


def project_spend(conn: Connection, project: str, *, now: float) -> float:
    """USD spent by the project's runs (their known prices × their hours, running runs up to ``now``)."""
    joined = runs.join(run_costs, run_costs.c.run_id == runs.c.id)
    total = conn.execute(select(func.sum(cost_expr(now))).select_from(joined).where(runs.c.project == project)).scalar()
    return float(total or 0.0)


def get_budget(conn: Connection, project: str) -> dict[str, Any] | None:
    row = conn.execute(select(project_budgets).where(project_budgets.c.project == project)).mappings().first()
    return dict(row) if row else None


def list_budgets(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(project_budgets).order_by(project_budgets.c.project)).mappings()]


def set_budget(conn: Connection, *, project: str, usd: float, by: str | None) -> dict[str, Any]:
    """Set a project's budget; a new amount clears the crossing (it is checked again against the new one)."""
    values = {"usd": usd, "set_by": by, "set_at": time.time(), "crossed_at": None, "crossed_usd": None}
    if get_budget(conn, project) is None:
        conn.execute(insert(project_budgets).values(project=project, **values))
    else:
        conn.execute(update(project_budgets).where(project_budgets.c.project == project).values(**values))
    found = get_budget(conn, project)
    assert found is not None
    return found


def delete_budget(conn: Connection, *, project: str) -> bool:
    return bool(conn.execute(delete(project_budgets).where(project_budgets.c.project == project)).rowcount)


def mark_crossed(conn: Connection, *, project: str, at: float, usd: float) -> bool:
    """Record the crossing once (False when it was already recorded for the current amount)."""
    done = conn.execute(
        update(project_budgets)
        .where(project_budgets.c.project == project, project_budgets.c.crossed_at.is_(None))
        .values(crossed_at=at, crossed_usd=usd)
    )
    return bool(done.rowcount)


def with_costs(conn: Connection, rows: list[dict[str, Any]], *, now: float | None = None) -> list[dict[str, Any]]:
    """``rows`` (runs) each with its ``cost`` (``None`` without a known price)."""
    now = time.time() if now is None else now
    found = prices(conn, [r["id"] for r in rows])
    return [{**r, "cost": cost_of(found.get(r["id"]), end_time=r.get("end_time"), now=now)} for r in rows]
