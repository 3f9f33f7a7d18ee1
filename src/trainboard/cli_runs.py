"""Which run a CLI argument means: an exact id, else the newest run with that name, else the one run whose
id contains it (the short ids that ``trainboard ls`` prints). Names may repeat; the others are listed.
And ``trainboard ls``'s page of runs (``--filter``/``--sort`` are the runs table's query parameters) and table."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Fail = Callable[[str], Exception]
Note = Callable[[str], None]

#: how many of the other runs sharing a name are listed by id
LISTED = 10
#: an id fragment shorter than this is never taken as a run
MIN_FRAGMENT = 4
_SDK_ID = re.compile(r"\d{8}-\d{6}-([0-9a-f]+)")


def short_id(run_id: str) -> str:
    """What ``trainboard ls`` shows for an id: the random part of ``YYYYMMDD-HHMMSS-xxxxxx`` ids (the time is
    in the STARTED column already), else the first 8 characters. It resolves back to the run."""
    m = _SDK_ID.fullmatch(run_id)
    return m.group(1) if m else run_id[:8]


@dataclass(frozen=True)
class Resolved:
    run_id: str
    run: dict[str, Any]


def resolve_run(client: httpx.Client, text: str, *, note: Note, fail: Fail) -> Resolved:
    """The run ``text`` names; ``note`` gets one line when a name is ambiguous; ``fail`` makes the error
    raised when nothing matches."""
    if text.strip() and "/" not in text:
        resp = client.get(f"/api/runs/{quote(text, safe='')}")
        if resp.status_code == 200:
            run: dict[str, Any] = resp.json()
            return Resolved(str(run["id"]), run)
        if resp.status_code != 404:
            raise fail(f"cannot look up run {text!r}: HTTP {resp.status_code}: {resp.text[:300]}")
    named = _list(client, fail, name=text, limit=LISTED + 1)
    if named["runs"]:
        newest = named["runs"][0]
        total = int(named.get("total") or len(named["runs"]))
        if total > 1:
            others = ", ".join(str(r["id"]) for r in named["runs"][1 : LISTED + 1])
            more = f" and {total - 1 - LISTED} more" if total - 1 > LISTED else ""
            note(
                f"{total} runs are named {text!r}; using the newest, {newest['id']} (started "
                f"{_started(newest)}); the others: {others}{more}"
            )
        return Resolved(str(newest["id"]), newest)
    if len(text) >= MIN_FRAGMENT:
        found = [r for r in _list(client, fail, search=text, limit=1000)["runs"] if text in str(r["id"])]
        if len(found) == 1:
            return Resolved(str(found[0]["id"]), found[0])
        if found:
            ids = ", ".join(str(r["id"]) for r in found[:LISTED])
            raise fail(f"{text!r} is part of {len(found)} run ids ({ids}); give more of the id, or the full id")
    raise fail(f"run {text!r} not found: no run has that id or name (`trainboard ls` lists them)")


def _list(client: httpx.Client, fail: Fail, **params: Any) -> dict[str, Any]:
    resp = client.get("/api/runs", params=params)
    if resp.status_code >= 400:
        raise fail(f"cannot list runs: HTTP {resp.status_code}: {resp.text[:300]}")
    data: dict[str, Any] = resp.json()
    return data


def list_page(client: httpx.Client, *, fail: Fail, **params: Any) -> dict[str, Any]:
    """``GET /api/runs`` with ``params`` (None left out). A filter or sort the server refuses becomes ``fail``
    with its message and a caret under the position it names, never the raw 422 body."""
    resp = client.get("/api/runs", params={k: v for k, v in params.items() if v is not None})
    if resp.status_code == 422:
        problem = query_problem(resp, params)
        if problem is not None:
            raise fail(problem)
    if resp.status_code >= 400:
        raise fail(f"cannot list runs: HTTP {resp.status_code}: {resp.text[:300]}")
    data: dict[str, Any] = resp.json()
    return data


def list_all(client: httpx.Client, *, fail: Fail, page: int = 1000, **params: Any) -> dict[str, Any]:
    """Every run the query matches (``trainboard ls --all``), fetched in pages of ``page`` by the server's cursor."""
    runs: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        data = list_page(client, fail=fail, **params, limit=page, cursor=cursor)
        runs.extend(data["runs"])
        cursor = data.get("next_cursor")
        if not cursor or not data["runs"]:
            return {**data, "runs": runs, "next_cursor": None}


def query_problem(resp: httpx.Response, params: dict[str, Any]) -> str | None:
    """``--filter: expected a value after '<=' (at position 13)`` and the expression with a caret under the
    position, for a 422 naming the ``filter`` or ``sort`` parameter; None for any other answer."""
    try:
        errors = resp.json().get("detail")
    except (ValueError, AttributeError):
        return None
    for error in errors if isinstance(errors, list) else []:
        loc = error.get("loc") if isinstance(error, dict) else None
        param = loc[-1] if isinstance(loc, list) and loc else None
        if param not in ("filter", "sort"):
            continue
        message = str(error.get("msg", "invalid"))
        text = str(params.get(param) or "")
        position = (error.get("ctx") or {}).get("position")
        if not isinstance(position, int):
            return f"--{param}: {message}"
        if "\n" in text or position > len(text):
            return f"--{param}: {message}"
        return f"--{param}: {message}\n  {text}\n  {' ' * position}^"
    return None


#: run fields the table shows in columns of its own (a sort by one of them adds no column)
SHOWN_FIELDS = frozenset({"id", "name", "project", "status", "start_time", "exit_code", "last_step"})
_AGGS = ("last", "min", "max", "count")


@dataclass(frozen=True)
class SortColumn:
    """The column ``trainboard ls --sort KEY`` adds so the order can be seen: a run field, ``config.KEY``, or a
    metric (``val/loss``, ``val/loss.min``, ``metrics.KEY``), read from the run and its summaries."""

    title: str
    kind: str  # "field", "config" or "metric"
    key: str
    agg: str = "last"

    def value(self, run: dict[str, Any]) -> str:
        if self.kind == "field" and self.key == "duration":
            return _duration(run)
        if self.kind == "field":
            raw = run.get(self.key)
        elif self.kind == "config":
            raw = _flat_get(run.get("config") or {}, self.key)
        else:
            summary = (run.get("summary") or {}).get(self.key)
            raw = None if summary is None else summary.get("count" if self.agg == "count" else self.agg)
        return format_value(raw)


def sort_column(sort: str | None) -> SortColumn | None:
    """The column to add for ``sort`` (None: no sort, or a field the table already shows)."""
    name = (sort or "").strip().lstrip("+-").strip()
    if not name or name in SHOWN_FIELDS:
        return None
    if name in ("end_time", "duration", "notes", "created_by", "archived"):
        return SortColumn(name, "field", name)
    if name.startswith("config."):
        return SortColumn(name, "config", name.removeprefix("config."))
    key = name.removeprefix("metrics.")
    agg = "last"
    head, dot, tail = key.rpartition(".")
    if dot and tail in _AGGS:
        key, agg = head, tail
    return SortColumn(name, "metric", key, agg)


def _duration(run: dict[str, Any]) -> str:
    """``1h02m`` from the run's start to its end (to now while it runs)."""
    try:
        start = datetime.fromisoformat(str(run["start_time"]).replace("Z", "+00:00"))
        end_text = run.get("end_time")
        end = datetime.fromisoformat(str(end_text).replace("Z", "+00:00")) if end_text else datetime.now(UTC)
    except (KeyError, ValueError):
        return ""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    seconds = max(0, int((end - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _flat_get(config: dict[str, Any], key: str) -> Any:
    """``config.KEY`` as the runs query reads it: nested keys joined by dots."""
    if key in config:
        return config[key]
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def format_value(raw: Any) -> str:
    """A table cell: numbers to 6 significant digits (``0.0988791``, ``1e-05``), nothing for missing."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return str(raw).lower()
    if isinstance(raw, float):
        return f"{raw:.6g}"
    if isinstance(raw, (dict, list)):
        import json

        return json.dumps(raw, separators=(",", ":"))
    return str(raw)


def listing_title(shown: int, total: int | None, *, sorted_by: str | None) -> str:
    """``9,997 runs`` when all are shown, else ``showing 50 of 9,997 runs, newest first (--limit N or --all for
    more)``: a listing never leaves runs out without saying so."""
    order = f"sorted by {sorted_by}" if sorted_by else "newest first"
    if total is None or total <= shown:
        return f"{shown:,} run{'s' if shown != 1 else ''}"
    return f"showing {shown:,} of {total:,} runs, {order} (--limit N or --all for more)"


def _started(run: dict[str, Any]) -> str:
    return str(run.get("start_time") or "?")[:19].replace("T", " ")


def runs_table(
    runs: list[dict[str, Any]],
    *,
    total: int | None,
    wide: bool,
    status_style: dict[str, tuple[str, str]],
    console: Console,
    now: datetime | None = None,
    sort: str | None = None,
) -> Table:
    """The ``trainboard ls`` table. Names and projects wrap instead of being cut ("quic…" tells nothing);
    ids are short and start times relative ("5m ago") unless ``wide``, so 80 columns leave room for names.
    When the table is wider than ``console``, names get three quarters of the room left and projects one."""
    from rich.table import Table
    from rich.text import Text

    now = now or datetime.now(UTC)
    title = listing_title(len(runs), total, sorted_by=(sort or "").strip() or None)
    extra = sort_column(sort)
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("NAME", overflow="fold", min_width=16)
    table.add_column("PROJECT", overflow="fold", min_width=7)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("STEP", justify="right", no_wrap=True)
    table.add_column("STARTED", no_wrap=not wide, overflow="fold")
    table.add_column("EXIT", justify="right", no_wrap=True)
    if extra is not None:
        table.add_column(extra.title.upper(), justify="right", overflow="fold")
    for r in runs:
        label, style = status_style.get(r["status"], (r["status"], "white"))
        table.add_row(
            Text(str(r["id"]) if wide else short_id(str(r["id"]))),
            Text(r["name"]),
            Text(r["project"]),
            Text(label, style=style),
            "" if r.get("last_step") is None else str(r["last_step"]),
            _when(r.get("start_time"), now, exact=wide),
            "" if r.get("exit_code") is None else str(r["exit_code"]),
            *([Text(extra.value(r))] if extra is not None else []),
        )
    natural = console.measure(table, options=console.options.update_width(1_000_000)).maximum
    if natural > console.width and not wide:  # (full ids and times leave too little room to share)
        table.expand = True
        table.columns[1].ratio, table.columns[2].ratio = 3, 1
    return table


def _when(start: str | None, now: datetime, *, exact: bool) -> str:
    """``2026-12-01 20:02:58Z`` with ``exact``, else how long ago: ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    if not start:
        return ""
    try:
        at = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return start
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if exact:
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    seconds = max(0, int((now - at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"
