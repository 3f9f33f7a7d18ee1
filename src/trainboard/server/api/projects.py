"""Projects: the list, the column picker's keys, saved runs-table views, and each user's page layout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import Connection

from trainboard.server.api.errors import not_found
from trainboard.server.api.project_schemas import (
    LayoutIn,
    LayoutOut,
    ProjectColumns,
    ProjectList,
    ProjectOut,
    ViewIn,
    ViewList,
    ViewName,
    ViewOut,
)
from trainboard.server.auth.identity import Caller
from trainboard.server.state import State
from trainboard.server.store import projects as store
from trainboard.server.store import saved_views

router = APIRouter(prefix="/api/projects", tags=["projects"])
ProjectName = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[^\x00]+$")]


@router.get("", response_model=ProjectList)
def list_projects(state: State) -> ProjectList:
    """Every project with its number of runs and its newest run's start (epoch seconds)."""
    with state.engines.reader.connect() as conn:
        rows = store.list_projects(conn)
    return ProjectList(projects=[ProjectOut(**r) for r in rows])


@router.get("/{project}/columns", response_model=ProjectColumns)
def project_columns(project: ProjectName, state: State) -> ProjectColumns:
    """The config keys (flattened), metric keys and tags over the project's runs: the runs table's columns."""
    with state.engines.reader.connect() as conn:
        return ProjectColumns(**store.columns(conn, project=project))


@router.get("/{project}/views", response_model=ViewList)
def list_views(project: ProjectName, state: State) -> ViewList:
    with state.engines.reader.connect() as conn:
        return ViewList(views=[ViewOut(**v) for v in saved_views.list_views(conn, project=project)])


@router.put(
    "/{project}/views/{name}",
    response_model=ViewOut,
    responses={201: {"model": ViewOut, "description": "Created"}},
)
async def put_view(
    project: ProjectName, name: ViewName, body: ViewIn, response: Response, state: State, caller: Caller
) -> ViewOut:
    """Save the view ``name`` of the project (replacing one of that name)."""

    def job(conn: Connection) -> tuple[dict[str, object], bool]:
        return saved_views.put_view(
            conn, project=project, name=name, filter=body.filter, sort=body.sort, columns=body.columns, user=caller.user
        )

    view, created = await state.ingest.commit(job)
    response.status_code = 201 if created else 200
    return ViewOut.model_validate(view)


@router.delete("/{project}/views/{name}", status_code=204)
async def delete_view(project: ProjectName, name: ViewName, state: State) -> Response:
    if not await state.ingest.commit(lambda c: saved_views.delete_view(c, project=project, name=name)):
        not_found("view", name)
    return Response(status_code=204)


@router.get("/{project}/layout", response_model=LayoutOut)
def get_layout(project: ProjectName, state: State, caller: Caller) -> LayoutOut:
    """The calling user's layout of the project's pages (one shared layout when authentication is off)."""
    with state.engines.reader.connect() as conn:
        found = saved_views.get_layout(conn, project=project, owner=caller.user or "")
    return LayoutOut(**found) if found else LayoutOut(layout=None, updated_at=None)


@router.put("/{project}/layout", response_model=LayoutOut)
async def put_layout(project: ProjectName, body: LayoutIn, state: State, caller: Caller) -> LayoutOut:
    saved = await state.ingest.commit(
        lambda c: saved_views.put_layout(c, project=project, owner=caller.user or "", layout=body.layout)
    )
    return LayoutOut(**saved)


@router.delete("/{project}/layout", status_code=204)
async def delete_layout(project: ProjectName, state: State, caller: Caller) -> Response:
    """Forget the caller's layout (the UI falls back to its default)."""
    await state.ingest.commit(lambda c: saved_views.delete_layout(c, project=project, owner=caller.user or ""))
    return Response(status_code=204)
