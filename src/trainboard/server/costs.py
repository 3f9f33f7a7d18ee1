"""The price of launched runs and the budget of projects.

Prices ($/hour of a run):

- ``runpod``: RunPod's own ``costPerHr`` of the pod (on-demand price, or the spot bid, for all its GPUs), kept
  as soon as the pod reports it (source ``"runpod costPerHr"``); until then the run's cost is unknown (null).
- ``local``, ``ray``, ``slurm``: a rate configured in ``providers.toml``::

      [rates]                      # $/GPU-hour by GPU type, for every provider but runpod
      "A100" = 1.8
      "RTX 4090" = 0.45
      [providers.slurm.rates]      # the same for one provider (wins over [rates])
      "A100" = 1.2
      [providers.local]
      rate_per_hour = 0.30         # $/hour of one job of this provider that names no GPU type (a whole machine)

  A job with ``resources.gpu_type`` T and ``resources.gpus`` N (at least 1) costs N × rate(T) an hour; one with no
  GPU type costs the provider's ``rate_per_hour``. Without a matching rate its cost is unknown (null), never a
  guess; the run's launch record says why (``spec.price``).

A run's cost is its price × the hours from its launch to its end (to now while it runs), computed when asked.

Budgets: ``PUT /api/projects/{project}/budget {"usd": 100}`` (admins). The launch watcher (:func:`check_budgets`)
compares each project's spending with its budget; the first time spending reaches it, the crossing is kept on the
budget (``crossed_at``, ``crossed_usd``), recorded as a ``budget`` event of the project's most recent priced run,
and handed to :func:`on_budget_crossed` — the hook the alerts' channels subscribe to.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, desc, select

from trainboard.server.state import AppState
from trainboard.server.store import costs as store
from trainboard.server.store import events as events_store
from trainboard.server.store.tables import runs

log = logging.getLogger(__name__)

__all__ = [
    "BUDGET_LISTENERS_KEY",
    "BudgetCrossing",
    "Rates",
    "check_budgets",
    "on_budget_crossed",
    "parse_rates",
    "price_of",
]

#: Providers whose price comes from the provider itself, not from configured rates.
PRICED_BY_PROVIDER = frozenset({"runpod"})
#: ``state.extras`` key of the list of ``async (state, BudgetCrossing) -> None`` called on a crossing.
BUDGET_LISTENERS_KEY = "budget_listeners"
#: Most a rate may be ($/hour): anything above is a typo in providers.toml.
MAX_RATE = 100_000.0


@dataclass(frozen=True)
class Rates:
    """Configured rates: ``gpu`` ($/GPU-hour by GPU type, all providers), ``per_provider`` (the same, one
    provider's, winning), ``flat`` ($/hour of a job without a GPU type, by provider)."""

    gpu: Mapping[str, float] = field(default_factory=dict)
    per_provider: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    flat: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "gpu": dict(self.gpu),
            "per_provider": {k: dict(v) for k, v in self.per_provider.items()},
            "flat": dict(self.flat),
        }


def _rate(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where} must be a number of dollars per hour")
    if value < 0 or value > MAX_RATE:
        raise ValueError(f"{where} must be between 0 and {MAX_RATE:g} dollars per hour")
    return float(value)


def _table(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a table of GPU type = dollars per GPU-hour")
    return {str(k): _rate(v, f"{where} {k!r}") for k, v in value.items()}


def parse_rates(top: Any, providers: Mapping[str, Mapping[str, Any]]) -> Rates:
    """``[rates]`` and each ``[providers.X]``'s ``rates`` / ``rate_per_hour`` (``ValueError`` names the key)."""
    gpu = _table(top, "[rates]") if top is not None else {}
    per: dict[str, dict[str, float]] = {}
    flat: dict[str, float] = {}
    for name, conf in providers.items():
        if "rates" in conf:
            per[name] = _table(conf["rates"], f"[providers.{name}.rates]")
        if "rate_per_hour" in conf:
            flat[name] = _rate(conf["rate_per_hour"], f"[providers.{name}] rate_per_hour")
    return Rates(gpu=gpu, per_provider=per, flat=flat)


def price_of(provider: str, resources: Mapping[str, Any], rates: Rates) -> tuple[float | None, str]:
    """A launch's $/hour and where it comes from (or None and why there is none)."""
    if provider in PRICED_BY_PROVIDER:
        return None, f"{provider}: the price the provider reports for the job (not reported yet)"
    gpu_type = resources.get("gpu_type")
    gpus = int(resources.get("gpus") or 0)
    if gpu_type:
        own = rates.per_provider.get(provider, {})
        if gpu_type in own:
            rate, where = own[gpu_type], f"[providers.{provider}.rates]"
        elif gpu_type in rates.gpu:
            rate, where = rates.gpu[gpu_type], "[rates]"
        else:
            return (
                None,
                f"no rate for GPU type {gpu_type!r} in providers.toml ([rates] or [providers.{provider}.rates])",
            )
        n = max(gpus, 1)
        return rate * n, f"providers.toml {where}: {n} × {gpu_type} at ${rate:g}/GPU-hour"
    if provider in rates.flat:
        return rates.flat[provider], f"providers.toml [providers.{provider}] rate_per_hour"
    return None, f"no rate for {provider} jobs without a GPU type ([providers.{provider}] rate_per_hour)"


@dataclass(frozen=True)
class BudgetCrossing:
    """A project's spending reached its budget: what an alert says."""

    project: str
    budget_usd: float
    spent_usd: float
    at: float
    run_id: str | None  # the run the event was recorded on (the project's most recent priced run)

    @property
    def message(self) -> str:
        return f"project {self.project!r} spent ${self.spent_usd:.2f} of its ${self.budget_usd:.2f} budget"


async def on_budget_crossed(state: AppState, crossing: BudgetCrossing) -> None:
    """The notification hook: called once per crossing, after it is committed. Hands it to every listener in
    ``state.extras[BUDGET_LISTENERS_KEY]`` (the alerts' channels register one there); a listener's failure is
    logged, not raised."""
    log.warning("budget crossed: %s", crossing.message)
    listeners: list[Callable[[AppState, BudgetCrossing], Awaitable[None]]] = list(
        state.extras.get(BUDGET_LISTENERS_KEY) or []
    )
    for listener in listeners:
        try:
            await listener(state, crossing)
        except Exception:
            log.exception("a budget listener failed for project %s", crossing.project)


def _latest_priced_run(conn: Connection, project: str) -> str | None:
    joined = runs.join(store.run_costs, store.run_costs.c.run_id == runs.c.id)
    row = conn.execute(
        select(runs.c.id)
        .select_from(joined)
        .where(runs.c.project == project)
        .order_by(desc(runs.c.start_time))
        .limit(1)
    ).first()
    return None if row is None else str(row[0])


async def check_budgets(state: AppState, *, now: float | None = None) -> list[BudgetCrossing]:
    """Compare every uncrossed budget with its project's spending; record and announce each new crossing."""
    now = time.time() if now is None else now
    with state.engines.reader.connect() as conn:
        pending = [b for b in store.list_budgets(conn) if b["crossed_at"] is None]
        spent = {b["project"]: store.project_spend(conn, b["project"], now=now) for b in pending}
    crossings: list[BudgetCrossing] = []
    for budget in pending:
        project, usd = budget["project"], float(budget["usd"])
        if spent[project] < usd:
            continue

        def job(c: Connection, project: str = project, usd: float = usd) -> BudgetCrossing | None:
            total = store.project_spend(c, project, now=now)
            if not store.mark_crossed(c, project=project, at=now, usd=total):
                return None  # recorded meanwhile (another server process)
            run_id = _latest_priced_run(c, project)
            crossing = BudgetCrossing(project=project, budget_usd=usd, spent_usd=total, at=now, run_id=run_id)
            if run_id is not None:
                events_store.add_event(
                    c,
                    run_id=run_id,
                    kind="budget",
                    message=crossing.message,
                    data={"project": project, "budget_usd": usd, "spent_usd": round(total, 6)},
                    at=now,
                )
            return crossing

        found = await state.writer.run(job)
        if found is not None:
            crossings.append(found)
            await on_budget_crossed(state, found)
    return crossings
