"""``GET /api/run-groups``: runs grouped by a config key or tag, with one metric aggregated per step bucket
over every run of each group (``runs_query/groups.py`` says how), read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from trainboard.server.api.errors import invalid
from trainboard.server.api.run_query_errors import query_error
from trainboard.server.runs_query import QueryError
from trainboard.server.runs_query import groups as grouping
from trainboard.server.runs_query.parse import MAX_LENGTH
from trainboard.server.state import State

router = APIRouter(prefix="/api/run-groups", tags=["runs"])


class GroupMember(BaseModel):
    id: str
    name: str


class GroupSeries(BaseModel):
    """Per step bucket (``step``: its first step) over the group's runs that have a value there."""

    step: list[int]
    count: list[int] = Field(description="Runs with a finite value in the bucket (the runs behind the point)")
    nonfinite: list[int] = Field(description="Runs whose values in the bucket are all NaN or infinite")
    mean: list[float | None]
    median: list[float | None]
    min: list[float | None]
    max: list[float | None]
    std: list[float | None] = Field(description="Sample standard deviation (0 for one run)")
    sem: list[float | None] = Field(description="Standard error of the mean: std / sqrt(count)")


class RunGroup(BaseModel):
    label: str
    runs: int = Field(description="Runs in the group (all of them are aggregated)")
    members: list[GroupMember] = Field(description=f"The first {grouping.MEMBERS_LISTED} runs, newest first")
    with_metric: int | None = Field(None, description="Runs of the group that logged the metric")
    series: GroupSeries | None = None


class RunGroups(BaseModel):
    runs: int = Field(description="Runs matching the selection")
    by: str
    mode: str
    metric: str | None
    metric_keys: list[str] = Field(description="Metric keys any matching run logged")
    bucket_width: int | None = Field(None, description="Steps per bucket (1: every step)")
    groups: list[RunGroup]


@router.get("", response_model=RunGroups)
def run_groups(
    state: State,
    by: Annotated[str, Query(max_length=300, pattern=r"^(tag|config\.[^\x00]+)$", description="`tag` or `config.KEY`")],
    mode: Annotated[str, Query(pattern="^(by|over)$", description="`by`: same value; `over`: over the key")] = "by",
    project: Annotated[str | None, Query(max_length=256)] = None,
    filter: Annotated[str, Query(max_length=MAX_LENGTH, description="A runs-query filter expression")] = "",
    runs: Annotated[str | None, Query(max_length=60_000, description="Comma-separated run ids")] = None,
    metric: Annotated[str | None, Query(max_length=256, description="The metric key to aggregate")] = None,
    buckets: Annotated[int, Query(ge=1, le=grouping.MAX_BUCKETS)] = grouping.DEFAULT_BUCKETS,
) -> RunGroups:
    """Every matching run, grouped; with ``metric``, that key's mean, median, min, max, std and standard
    error per step bucket over all runs of each group, and the count of runs behind each point."""
    if by != "tag" and not (by.startswith("config.") and len(by) > len("config.")):
        invalid(["query", "by"], "must be `tag` or `config.<key>`")
    for name, value in (("by", by), ("project", project), ("filter", filter), ("runs", runs), ("metric", metric)):
        if value is not None and "\x00" in value:
            invalid(["query", name], "must not contain NUL characters")
    ids = [i.strip() for i in runs.split(",") if i.strip()] if runs else []
    with state.engines.reader.connect() as conn:
        try:
            members = grouping.matching_runs(conn, filter_text=filter, project=project, ids=ids)
        except QueryError as exc:
            query_error(exc)
        found = grouping.group_runs(conn, members, by=by, mode=mode)
        keys = grouping.metric_keys(conn, [m.id for m in members])
        points = grouping.load_metric(conn, [m.id for m in members], metric) if metric else {}
    lo, width, n_buckets = grouping.buckets_of(points.values(), buckets)
    out: list[RunGroup] = []
    for g in found:
        group = RunGroup(
            label=g.label,
            runs=len(g.members),
            members=[GroupMember(id=m.id, name=m.name) for m in g.members[: grouping.MEMBERS_LISTED]],
            with_metric=None,
        )
        if metric:
            own = [points[m.id] for m in g.members if m.id in points]
            group.with_metric = len(own)
            agg = grouping.aggregate(own, lo=lo, width=width, n_buckets=n_buckets)
            group.series = GroupSeries(**vars(agg))
        out.append(group)
    return RunGroups(
        runs=len(members),
        by=by,
        mode=mode,
        metric=metric,
        metric_keys=keys,
        bucket_width=width if metric else None,
        groups=out,
    )
