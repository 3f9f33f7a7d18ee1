"""The launch service: turns API requests into provider calls and keeps launched runs in step with their jobs.

It owns the order of things (run created ``queued`` -> job deployed -> job id stored -> events) and the watcher
(``watch``): every ``poll_interval`` seconds it asks each provider for the state of its unfinished jobs, records
each change as an event of the run, and ends a run the job left behind (``trainboard run`` never started, or was
killed) with the job's outcome. Provider calls block, so they run in worker threads; the event loop never waits
on a backend. Nothing here imports the API: errors are :class:`LaunchError` with an HTTP status and a field.

With several server processes the watcher runs in one of them (the background jobs' leader, ``leader``), and a
state change is recorded under the launch row's lock, compared with the state stored there: a ``job_state``
event is written once per change even when two processes observe it (a cancel polls its own run at once). A
cancel that arrives while ``deploy`` still runs is recorded and applied as soon as the job id is stored. When a
run is deleted, ``forget`` removes what the provider keeps of its ended job (the local provider's files).

When a job has ended, before its run is ended from the job's outcome, a provider with ``leftovers(job_id)``
(``local``: the job's own client data directory) hands over the upload journal the job could not send; the
service uploads it (``journals``) with the URL the job used and a fresh token scoped to the run (revoked
afterwards), so a job that ended while the server was down ends its run as the job itself ended it, exit code
and output included, without a manual ``trainboard sync``. A job that is gone after its run had already ended
(a RunPod pod terminates itself at the end; a job whose server restarted) is recorded as the end it was, not as
``lost``.

A server process that dies while it deploys (after the launch row exists, before the job id is stored) would
leave the run ``queued`` forever. The launch row names the deploying process (``deploy_owner``: host, boot,
pid namespace, pid and start time) and holds its lease (``deploy_until``), renewed every third of
``DEPLOY_LEASE`` while ``deploy`` runs. The watcher treats a launch without a job id as orphaned once the lease
ran out, or at once when the owner is a process on this machine that no longer exists; it then asks the
provider for a job of that run (``find(run_id)``, optional in the Protocol) and adopts it, or ends the run
``failed`` with the reason :data:`DEPLOYER_STOPPED`. A deploy that returns after its launch was resolved that
way cancels the job it made.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Connection

from trainboard.server.auth.accounts import AuthInputError, create_token
from trainboard.server.auth.audit import record
from trainboard.server.auth.identity import Identity
from trainboard.server.costs import check_budgets, price_of
from trainboard.server.ingest.changes import Change
from trainboard.server.ingest.launches import LaunchStep, launch_changes
from trainboard.server.ingest.runs import Transition, commit_created, commit_transitions, transitions_of
from trainboard.server.lifecycle.leader import Job
from trainboard.server.providers.base import (
    JobNotFound,
    JobSpec,
    JobState,
    JobStatus,
    Provider,
    ProviderError,
    SpecError,
)
from trainboard.server.providers.journals import upload_leftovers
from trainboard.server.providers.registry import Registry
from trainboard.server.providers.resume import ResumeError, ResumePoint, link_resumed, resume_point
from trainboard.server.state import AppState
from trainboard.server.store import auth_tokens
from trainboard.server.store import costs as costs_store
from trainboard.server.store import events as events_store
from trainboard.server.store import launches as store
from trainboard.server.store import runs as runs_store
from trainboard.server.store.run_owner import set_created_by

log = logging.getLogger(__name__)

#: Seconds a provider's ``reachable()`` may take in ``GET /api/providers``.
REACH_TIMEOUT = 5.0
#: A launched job's run-scoped write token lives this long (it is what the job's ``trainboard run`` and
#: ``trainboard sync`` upload with).
TOKEN_LIFETIME = 30 * 86400.0
#: Test hook: seconds the server waits before ``deploy`` (how the tests send a cancel while a deploy runs).
TEST_DEPLOY_DELAY_ENV = "TRAINBOARD_TEST_DEPLOY_DELAY"
#: Test hook: seconds the server waits after ``deploy`` returned, before it stores the job id.
TEST_DEPLOYED_DELAY_ENV = "TRAINBOARD_TEST_DEPLOYED_DELAY"
#: The token the server uploads a finished job's leftover journal with lives this long (revoked after the upload).
UPLOAD_TOKEN_LIFETIME = 3600.0
#: Seconds a deploying process's claim on a launch lasts without renewal (renewed every third of it).
DEPLOY_LEASE = 60.0
#: Seconds between two comparisons of the projects' spending with their budgets (``costs.check_budgets``).
BUDGET_EVERY = 2.0
#: The reason a run fails with when the server deploying it died and the provider has no job for it.
DEPLOYER_STOPPED = "the server deploying it stopped"


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _machine() -> str:
    """This machine (boot id) and pid namespace: two processes with the same pair see each other's pids."""
    try:
        pidns = os.readlink("/proc/self/ns/pid")
    except OSError:
        pidns = ""
    return f"{_read('/proc/sys/kernel/random/boot_id')}|{pidns}"


def process_identity(pid: int | None = None) -> str:
    """``host|boot id|pid namespace|pid|start time``: names a server process across restarts and pid reuse."""
    pid = os.getpid() if pid is None else pid
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = 0.0
    return f"{socket.gethostname()}|{_machine()}|{pid}|{started:.3f}"


def owner_gone(owner: str | None) -> bool:
    """Whether ``owner`` (a :func:`process_identity`) is certainly not running: only decidable for a process
    of this machine and pid namespace; one elsewhere counts as alive (its lease decides)."""
    if not owner:
        return False
    parts = owner.rsplit("|", 4)
    if len(parts) != 5:
        return False
    _, boot, pidns, pid, started = parts
    if f"{boot}|{pidns}" != _machine() or not boot:
        return False
    try:
        now = psutil.Process(int(pid)).create_time()
    except psutil.NoSuchProcess:
        return True
    except (psutil.Error, ValueError):
        return False
    return abs(now - float(started)) > 0.01


@dataclass
class LaunchError(Exception):
    """A refused or failed launch/cancel: ``status`` is the HTTP status, ``field`` the request field at fault."""

    status: int
    message: str
    field: str | None = None

    def __str__(self) -> str:
        return self.message


def new_run_id() -> str:
    """The same shape the SDK makes (sortable by time): a launched run looks like any other."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def who(caller: Identity) -> str:
    """What a launch or cancel records as its author (a service token by its name, see ``Identity.actor``)."""
    return caller.actor


class LaunchService:
    """One per app (``state.extras["launch"]``)."""

    def __init__(self, state: AppState, registry: Registry, *, poll_interval: float = 0.5) -> None:
        self.state = state
        self.registry = registry
        self.poll_interval = poll_interval
        self._warned: set[str] = set()
        self._identity: tuple[int, str] | None = None

    @property
    def identity(self) -> str:
        """This process, as launch rows name their deployer (computed in the process that deploys: an app
        built before a fork must not name its parent)."""
        if self._identity is None or self._identity[0] != os.getpid():
            self._identity = (os.getpid(), process_identity())
        return self._identity[1]

    def provider(self, name: str) -> Provider:
        found = self.registry.get(name)
        if found is None:
            if name in self.registry.errors:
                raise LaunchError(503, f"provider {name!r} failed to load: {self.registry.errors[name]}", "provider")
            known = ", ".join(self.registry.names()) or "none"
            raise LaunchError(422, f"unknown provider {name!r} (configured: {known})", "provider")
        return found

    # ---- GET /api/providers ------------------------------------------------------------------------------
    async def describe(self) -> list[dict[str, Any]]:
        async def one(name: str) -> dict[str, Any]:
            provider = self.registry.get(name)
            if provider is None:
                return {"name": name, "reachable": False, "detail": self.registry.errors[name], "capabilities": {}}
            try:
                reach = await asyncio.wait_for(asyncio.to_thread(provider.reachable), REACH_TIMEOUT)
                ok, detail = reach.ok, reach.detail
            except TimeoutError:
                ok, detail = False, f"no answer within {REACH_TIMEOUT:g} s"
            except Exception as exc:  # a provider's bug must not fail the list
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            return {"name": name, "reachable": ok, "detail": detail, "capabilities": provider.capabilities.as_dict()}

        return list(await asyncio.gather(*(one(n) for n in self.registry.names())))

    # ---- POST /api/launch --------------------------------------------------------------------------------
    def check(self, provider: Provider, spec: JobSpec) -> None:
        """Refuse (``SpecError``) what the provider cannot do, before anything is created."""
        caps = provider.capabilities
        res = spec.resources
        if res.gpus and not caps.gpus:
            raise SpecError("resources.gpus", f"the {provider.name} provider cannot allocate GPUs")
        if res.gpu_type and caps.gpu_types and res.gpu_type not in caps.gpu_types:
            raise SpecError("resources.gpu_type", f"unknown GPU type {res.gpu_type!r}")
        if res.cpus is not None and not caps.cpus:
            raise SpecError("resources.cpus", f"the {provider.name} provider does not take a CPU count")
        if res.memory_mb is not None and not caps.memory:
            raise SpecError("resources.memory_mb", f"the {provider.name} provider does not take a memory limit")
        if res.time_limit is not None and not caps.time_limit:
            raise SpecError("resources.time_limit", f"the {provider.name} provider does not take a time limit")
        if spec.image and not caps.image:
            raise SpecError("image", f"the {provider.name} provider does not run container images")
        if caps.image and not spec.image and not caps.default_image:
            raise SpecError("image", f"the {provider.name} provider needs a container image")
        for key in spec.options:
            if key not in caps.options:
                raise SpecError(f"runpod.{key}", f"the {provider.name} provider takes no {key!r} option")

    async def launch(
        self, *, provider_name: str, spec: JobSpec, caller: Identity, ip: str, resume_from: str | None = None
    ) -> dict[str, Any]:
        """Create the run (``queued``), deploy the job and return the run. Raises ``LaunchError``.

        ``resume_from``: a run whose last checkpoint the job resumes from (``TRAINBOARD_RESUME_FROM``, see
        ``resume``); the two runs are linked by an event on each."""
        provider = self.provider(provider_name)
        try:
            self.check(provider, spec)
        except SpecError as exc:
            raise LaunchError(422, exc.message, exc.field) from None
        resumed: ResumePoint | None = None
        if resume_from is not None:
            try:
                with self.state.engines.reader.connect() as conn:
                    resumed = resume_point(conn, resume_from)
            except ResumeError as exc:
                raise LaunchError(422, str(exc), "resume_from") from None
            spec = dataclasses.replace(spec, resume_from=resumed.path)
        run_id = new_run_id()
        name = spec.name or (spec.argv[0].rsplit("/", 1)[-1] or "run")
        stored_spec = {
            "argv": list(spec.argv),
            "env": {k: v for k, v in spec.env.items() if k not in spec.secret_names},
            "secrets": sorted(spec.secret_names),
            "cwd": spec.cwd,
            "resources": spec.resources.as_dict(),
            "image": spec.image or provider.capabilities.default_image,  # what it ran in: a relaunch runs it again
        }
        if spec.options:
            stored_spec["options"] = dict(spec.options)
        if resumed is not None:
            stored_spec["resume_from"] = resumed.as_dict()
        usd_per_hour, price_source = price_of(provider.name, spec.resources.as_dict(), self.registry.config.rates)
        stored_spec["price"] = {"usd_per_hour": usd_per_hour, "source": price_source}
        config = {**spec.config, "command": list(spec.argv)}

        def create(c: Connection) -> tuple[tuple[dict[str, Any], str | None], dict[str, Any]]:
            run, _ = runs_store.create_run(
                c, run_id=run_id, name=name, project=spec.project, config=config, status="queued"
            )
            secret = None
            token_id = None
            if caller.auth:  # the job uploads with a write token restricted to its run
                made, secret = create_token(
                    c,
                    name=f"launch {run_id}",
                    scope="write",
                    user=caller.user,
                    expires_in=TOKEN_LIFETIME,
                    run_id=run_id,
                )
                token_id = int(made["id"])
            if caller.user is not None:
                set_created_by(c, run_id=run_id, user=caller.user)
                run = {**run, "created_by": caller.user}
            store.create_launch(
                c,
                run_id=run_id,
                provider=provider.name,
                launched_by=who(caller),
                spec=stored_spec,
                token_id=token_id,
                deploy_owner=self.identity,
                deploy_until=time.time() + DEPLOY_LEASE,
            )
            costs_store.set_price(c, run_id=run_id, usd_per_hour=usd_per_hour, source=price_source)
            if resumed is not None:
                link_resumed(c, resumed, run_id=run_id)
            return (run, secret), run

        run, token = await commit_created(self.state, create)
        url = self.registry.contexts[provider.name].server_url
        renewer = asyncio.create_task(self._renew_lease(run_id), name=f"deploy-lease-{run_id}")
        try:
            delay = float(os.environ.get(TEST_DEPLOY_DELAY_ENV) or 0)
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                job_id = await asyncio.to_thread(provider.deploy, spec, run_id=run_id, server_url=url, token=token)
            except (SpecError, ProviderError, OSError) as exc:
                status, message, fld = (
                    (422, exc.message, exc.field) if isinstance(exc, SpecError) else (502, str(exc), None)
                )
                await self._end_unlaunched(run_id, caller, ip, provider.name, message)
                raise LaunchError(status, message, fld) from None
            delay = float(os.environ.get(TEST_DEPLOYED_DELAY_ENV) or 0)
            if delay > 0:
                await asyncio.sleep(delay)
        finally:
            renewer.cancel()

        def started(c: Connection) -> tuple[dict[str, Any], bool, bool]:
            # The update locks the row: a cancel committed before it is seen here; one committed after it
            # sees the job id (``cancel``), so exactly one of the two cancels the job.
            current = store.get_launch(c, run_id=run_id, lock=True)
            if current is not None and current["job_id"]:
                # adopted by a watcher meanwhile (the lease ran out; it found this job and applies any cancel)
                return runs_store.get_run(c, run_id=run_id) or run, False, False
            if current is not None and current["finished"] and current["state"] == "lost":
                # closed by a watcher meanwhile while this job's client already ran the run: it still does
                store.update_launch(c, run_id=run_id, changes={"job_id": job_id})
                return runs_store.get_run(c, run_id=run_id) or run, False, False
            if current is None or current["finished"]:
                # ended by a watcher meanwhile (the lease ran out and the provider did not show the job yet)
                return runs_store.get_run(c, run_id=run_id) or run, True, True
            store.update_launch(
                c, run_id=run_id, changes={"job_id": job_id, "deploy_owner": None, "deploy_until": None}
            )
            detail = f"{' '.join(spec.argv)[:200]} on {provider.name} as job {job_id}"
            record(c, caller, ip, "launch", run_id, detail, run_id=run_id)
            cancelled = current["cancel_requested_at"] is not None
            return runs_store.get_run(c, run_id=run_id) or run, cancelled, False

        run, cancelled, orphan = await self.state.writer.run(started)
        if orphan:
            log.warning(
                "launch %s: deployed as job %s after the run was resolved without it; cancelling it", run_id, job_id
            )
        if not cancelled:
            return run
        # cancelled while the deploy ran: apply it now
        try:
            await asyncio.to_thread(provider.cancel, job_id)
        except JobNotFound:
            pass
        except ProviderError as exc:
            log.warning("launch %s: the cancel sent during deploy failed on %s: %s", run_id, provider.name, exc)
        await self.poll_once(run_id=run_id)
        with self.state.engines.reader.connect() as conn:
            return runs_store.get_run(conn, run_id=run_id) or run

    async def _renew_lease(self, run_id: str) -> None:
        """While ``deploy`` runs: keep this process's claim on the launch (every third of the lease)."""
        while True:
            await asyncio.sleep(DEPLOY_LEASE / 3)
            until = time.time() + DEPLOY_LEASE
            try:
                held = await self.state.writer.run(
                    partial(store.renew_deploy, run_id=run_id, owner=self.identity, until=until)
                )
            except Exception:  # the next round retries; the lease still has two thirds left
                log.warning("launch %s: renewing the deploy lease failed", run_id, exc_info=True)
                continue
            if not held:
                return

    async def _end_unlaunched(self, run_id: str, caller: Identity, ip: str, provider: str, message: str) -> None:
        def job(c: Connection) -> tuple[dict[str, Any], dict[str, Any]] | None:
            record(c, caller, ip, "launch", run_id, f"on {provider} failed: {message}", run_id=run_id)
            store.update_launch(c, run_id=run_id, changes={"state": "failed", "reason": message, "finished": True})
            return runs_store.update_run(
                c, run_id=run_id, changes={"status": "failed"}, reason=f"launch failed: {message}"[:500]
            )

        await commit_transitions(self.state, transitions_of(lambda c: (job(c), None)), origin="launch")

    # ---- POST /api/runs/{id}/cancel ----------------------------------------------------------------------
    async def cancel(self, *, run_id: str, caller: Identity, ip: str) -> dict[str, Any]:
        with self.state.engines.reader.connect() as conn:
            run = runs_store.get_run(conn, run_id=run_id)
            launch = store.get_launch(conn, run_id=run_id)
        if run is None:
            raise LaunchError(404, f"run {run_id!r} not found")
        if launch is None:
            raise LaunchError(409, f"run {run_id!r} was not launched by this server: stop it where it runs")
        if run["status"] in runs_store.FINISHED:
            raise LaunchError(409, f"run {run_id!r} has already ended ({run['status']})")
        provider = self.provider(launch["provider"])

        def note(c: Connection) -> str | None:
            """Record the request; the job id as stored now (None: deploy still runs and applies the cancel)."""
            store.update_launch(
                c, run_id=run_id, changes={"cancel_requested_at": time.time(), "cancelled_by": who(caller)}
            )
            current = store.get_launch(c, run_id=run_id, lock=True)
            job = current["job_id"] if current else None
            detail = f"job {job} on {launch['provider']}" if job else f"on {launch['provider']} during its deploy"
            record(c, caller, ip, "cancel", run_id, detail, run_id=run_id)
            return str(job) if job else None

        job_id = await self.state.writer.run(note)
        if job_id:
            try:
                await asyncio.to_thread(provider.cancel, job_id)
            except JobNotFound:
                pass  # already gone: the watcher ends the run
            except ProviderError as exc:
                raise LaunchError(502, f"cancel failed on {launch['provider']}: {exc}") from None
        await self.poll_once(run_id=run_id)  # a job that stopped at once is reported at once
        with self.state.engines.reader.connect() as conn:
            return runs_store.get_run(conn, run_id=run_id) or run

    # ---- DELETE /api/runs/{id} ------------------------------------------------------------------------------
    async def forget(self, launch: dict[str, Any]) -> None:
        """The run of ``launch`` was deleted: remove what its provider keeps of the ended job (the local
        provider's record, native log and upload journal). Providers without ``forget`` keep nothing here."""
        provider = self.registry.get(launch["provider"])
        forget = getattr(provider, "forget", None)
        if forget is None or not launch["job_id"]:
            return
        try:
            await asyncio.to_thread(forget, launch["job_id"])
        except ProviderError as exc:  # JobNotFound included: nothing (left) to remove
            if not isinstance(exc, JobNotFound):
                log.warning("run %s deleted, but its job's files stay: %s", launch["run_id"], exc)
        except OSError as exc:
            log.warning("run %s deleted, but its job's files stay: %s", launch["run_id"], exc)

    # ---- native logs ---------------------------------------------------------------------------------------
    async def native_logs(self, run_id: str, *, limit: int, offset: int) -> tuple[dict[str, Any], bytes]:
        with self.state.engines.reader.connect() as conn:
            launch = store.get_launch(conn, run_id=run_id)
        if launch is None:
            raise LaunchError(404, f"run {run_id!r} was not launched by this server")
        if not launch["job_id"]:
            return launch, b""
        provider = self.provider(launch["provider"])
        try:
            data = await asyncio.to_thread(provider.logs, launch["job_id"], limit, offset)
        except JobNotFound:
            data = b""
        except ProviderError as exc:
            raise LaunchError(502, f"{launch['provider']}: {exc}") from None
        return launch, data

    # ---- the watcher -----------------------------------------------------------------------------------------
    async def watch(self) -> None:
        budgets_at = 0.0
        while True:
            try:
                await self.poll_once()
            except Exception:  # keep watching; the next round retries
                log.exception("launch watcher round failed")
            if time.monotonic() >= budgets_at:  # spending grows with time: compared with the budgets every few s
                budgets_at = time.monotonic() + BUDGET_EVERY
                try:
                    await check_budgets(self.state)
                except Exception:
                    log.exception("checking the project budgets failed")
            await asyncio.sleep(self.poll_interval)

    async def poll_once(self, *, run_id: str | None = None) -> None:
        """One round over the unfinished launches (``run_id``: only that run's)."""
        with self.state.engines.reader.connect() as conn:
            active = store.active_launches(conn)
        for launch in active:
            if run_id is not None and launch["run_id"] != run_id:
                continue
            provider = self.registry.get(launch["provider"])
            if provider is None:
                continue
            if not launch["job_id"]:
                if deploy_orphaned(launch):
                    await self._resolve_orphan(launch, provider)
                continue
            try:
                status = await asyncio.to_thread(provider.status, launch["job_id"])
            except JobNotFound as exc:
                status = JobStatus(JobState.LOST, reason=str(exc), native="unknown")
            except ProviderError as exc:
                if launch["run_id"] not in self._warned:
                    self._warned.add(launch["run_id"])
                    log.warning("launch %s: status from %s failed: %s", launch["run_id"], launch["provider"], exc)
                continue
            if (
                status.state.value != launch["state"]
                or status.native != launch["native_state"]
                or status.reason != launch["reason"]  # e.g. SLURM's reason for a pending job
                or status.state.finished
            ):
                if status.state.finished:
                    await self._upload_leftovers(launch, provider)
                await self._observe(launch, status)

    async def _upload_leftovers(self, launch: dict[str, Any], provider: Provider) -> None:
        """The job has ended: upload what its client left in its journal (see the module docstring)."""
        leftovers = getattr(provider, "leftovers", None)
        if leftovers is None:
            return
        run_id = launch["run_id"]
        try:
            found = await asyncio.to_thread(leftovers, launch["job_id"])
        except (ProviderError, OSError):
            return
        if found is None:
            return
        context = self.registry.contexts[launch["provider"]]

        def mint(c: Connection) -> tuple[int | None, str | None]:
            if launch.get("token_id") is None:  # launched without authentication: none is needed
                return None, None
            original = auth_tokens.get_token(c, int(launch["token_id"]))
            made, secret = create_token(
                c,
                name=f"upload {run_id}",
                scope="write",
                user=original["user"] if original else None,
                expires_in=UPLOAD_TOKEN_LIFETIME,
                run_id=run_id,
            )
            return int(made["id"]), secret

        try:
            token_id, token = await self.state.writer.run(mint)
        except AuthInputError as exc:
            ok, message = False, f"no token for it: {exc}"
        else:
            try:
                result = await asyncio.to_thread(
                    upload_leftovers, found, server_url=context.server_url, token=token, ca_bundle=context.ca_bundle
                )
                ok, message = result.ok, result.message
            finally:
                if token_id is not None:
                    await self.state.writer.run(partial(_revoke, token_id=token_id))
        if ok:
            text = f"uploaded what the job could not send itself: {message}"
        else:
            text = f"what the job could not send is not uploaded ({message}); it stays in {found}"
            log.warning("launch %s: %s", run_id, text)

        def note(c: Connection) -> None:
            events_store.add_event(
                c,
                run_id=run_id,
                kind="job_state",
                message=f"{launch['provider']} job {launch['job_id']}: {text}"[:1000],
                data={"provider": launch["provider"], "job_id": launch["job_id"], "uploaded": ok, "detail": message},
            )

        await self.state.writer.run(note)

    async def _resolve_orphan(self, launch: dict[str, Any], provider: Provider) -> None:
        """The process deploying ``launch`` is gone: adopt the provider's job for the run, or fail the run."""
        run_id = launch["run_id"]
        find = getattr(provider, "find", None)
        found: str | None = None
        if find is not None:
            try:
                found = await asyncio.to_thread(find, run_id)
            except ProviderError as exc:  # ask again next round: failing a run whose job may exist is worse
                if run_id not in self._warned:
                    self._warned.add(run_id)
                    log.warning("launch %s: looking for its job on %s failed: %s", run_id, provider.name, exc)
                return

        def job(c: Connection) -> tuple[tuple[dict[str, Any], dict[str, Any]] | None, bool]:
            current = store.get_launch(c, run_id=run_id, lock=True)
            if current is None or current["finished"] or current["job_id"] or not deploy_orphaned(current):
                return None, False  # resolved meanwhile, or its deployer renewed the lease
            gone = {"deploy_owner": None, "deploy_until": None}
            if found:
                store.update_launch(c, run_id=run_id, changes={"job_id": found, **gone})
                events_store.add_event(
                    c,
                    run_id=run_id,
                    kind="job_state",
                    message=f"{provider.name} job {found} adopted: {DEPLOYER_STOPPED} before recording it"[:1000],
                    data={"provider": provider.name, "job_id": found, "state": current["state"], "adopted": True},
                )
                return None, current["cancel_requested_at"] is not None
            run = runs_store.get_run(c, run_id=run_id)
            attached = run is not None and run["status"] != "queued"
            state, end, reason = "failed", "failed", DEPLOYER_STOPPED
            if attached:  # `trainboard run` took the run over (or ended it): a job ran, the provider lost track
                state = "lost"
                reason = f"{DEPLOYER_STOPPED} and {provider.name} no longer shows its job: the run follows its client"
            elif current["cancel_requested_at"] is not None:  # cancelled while it deployed: no job, as asked
                state, end = "cancelled", "interrupted"
                reason = f"cancelled by {current.get('cancelled_by') or 'someone'} ({DEPLOYER_STOPPED})"
            store.update_launch(c, run_id=run_id, changes={"state": state, "reason": reason, "finished": True, **gone})
            events_store.add_event(
                c,
                run_id=run_id,
                kind="job_state",
                message=f"{provider.name}: {state}: {reason}"[:1000],
                data={"provider": provider.name, "job_id": None, "state": state, "reason": reason},
            )
            if attached:
                return None, False
            result = runs_store.update_run(c, run_id=run_id, changes={"status": end}, reason=reason)
            return result, False

        cancel = await commit_transitions(self.state, transitions_of(job), origin="launch")
        if found and cancel:  # a cancel sent while the dead process deployed
            try:
                await asyncio.to_thread(provider.cancel, found)
            except ProviderError as exc:
                log.warning("launch %s: the cancel sent during deploy failed on %s: %s", run_id, provider.name, exc)

    async def _observe(self, launch: dict[str, Any], observed: JobStatus) -> None:
        run_id = launch["run_id"]

        def job(c: Connection) -> tuple[LaunchStep | None, list[Transition]]:
            # Under the row's lock and against the stored state: a change another server process recorded
            # meanwhile is not recorded twice.
            current = store.get_launch(c, run_id=run_id, lock=True)
            if current is None or current["finished"]:  # deleted, or ended by another server process meanwhile
                return None, []
            run = runs_store.get_run(c, run_id=run_id)
            status = after_run(observed, run)
            step = LaunchStep(run_id, launch["provider"], current["state"], status.state.value, status.reason)
            if status.details:
                store.record_job_details(c, run_id=run_id, details=dict(status.details))
                price = status.details.get("cost_per_hr")
                if isinstance(price, int | float):  # the provider's own price (RunPod's costPerHr)
                    source = f"{launch['provider']} costPerHr"
                    costs_store.set_price(c, run_id=run_id, usd_per_hour=float(price), source=source)
            changes: dict[str, Any] = {
                "state": status.state.value,
                "native_state": status.native,
                "reason": status.reason,
                "exit_code": status.exit_code,
            }
            if status.state.value != current["state"] or (status.announce and status.reason != current["reason"]):
                native = f" ({status.native})" if status.native else ""
                why = f": {status.reason}" if status.reason else ""
                events_store.add_event(
                    c,
                    run_id=run_id,
                    kind="job_state",
                    message=f"{launch['provider']} job {launch['job_id']}: {status.state.value}{native}{why}"[:1000],
                    data={
                        "provider": launch["provider"],
                        "job_id": launch["job_id"],
                        "state": status.state.value,
                        "native": status.native,
                        "exit_code": status.exit_code,
                        "signal": status.signal,
                        "reason": status.reason,
                    },
                )
            result = None
            transitions: list[Transition] = []
            if status.state.finished:
                changes["finished"] = True
                if run is not None and run["status"] not in runs_store.FINISHED:
                    end = status.state.run_status
                    reason = status.reason or status.state.value
                    if current.get("cancel_requested_at") is not None or status.state == JobState.CANCELLED:
                        end, reason = "interrupted", f"cancelled by {current.get('cancelled_by') or 'someone'}"
                    values: dict[str, Any] = {"status": end}
                    if status.exit_code is not None:
                        values["exit_code"] = status.exit_code
                    result = runs_store.update_run(c, run_id=run_id, changes=values, reason=reason[:500])
                    if result is not None:
                        transitions.append(Transition(*result, reason=reason[:500]))
            store.update_launch(c, run_id=run_id, changes=changes)
            return step, transitions

        def extra(c: Connection, step: LaunchStep | None) -> list[Change]:
            return launch_changes(self.state.ingest, c, [step] if step is not None else [])

        await commit_transitions(self.state, job, origin="launch", extra=extra)


def after_run(status: JobStatus, run: dict[str, Any] | None) -> JobStatus:
    """A job the provider no longer shows (``lost``) after its run had ended is not lost: its client ended the
    run, then the job went away as it does (a RunPod pod terminates itself; a server restart lost sight of a
    local job's end). It is recorded as the end its run shows."""
    if status.state != JobState.LOST or run is None or run["status"] not in runs_store.FINISHED:
        return status
    code = run.get("exit_code")
    state = JobState.COMPLETED if run["status"] == "completed" else JobState.FAILED
    ended = f"{run['status']}, exit {code}" if code is not None else run["status"]
    return JobStatus(
        state,
        exit_code=code,
        native=status.native,
        reason=f"its run had ended ({ended}); then the job was gone",
        details=status.details,
    )


def _revoke(c: Connection, *, token_id: int) -> None:
    auth_tokens.revoke(c, token_id)


def deploy_orphaned(launch: dict[str, Any], now: float | None = None) -> bool:
    """Whether a launch without a job id has lost its deployer: the lease ran out (rows from before the lease
    count from their launch time), or the deploying process of this machine is gone."""
    now = time.time() if now is None else now
    until = launch.get("deploy_until")
    if until is None:
        until = float(launch["launched_at"]) + DEPLOY_LEASE
    return bool(until < now or owner_gone(launch.get("deploy_owner")))


def local_url(settings: Any) -> str:
    """The URL a job on this machine reaches the server at (a wildcard bind is reached on loopback)."""
    host = settings.host
    if host in ("0.0.0.0", "", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "https" if settings.ssl_certfile else "http"
    return f"{scheme}://{host}:{settings.port}"


async def start(state: AppState) -> list[tuple[str, Job]]:
    """With ``--allow-launch``: build the providers (``providers.toml`` + flags), put the service in
    ``state.extras["launch"]`` and return its watcher as a background job (``background.start`` runs it once
    across server processes; it also finds the jobs of a previous server process again). Without it: nothing."""
    from trainboard.server.providers.registry import build_registry

    settings = state.settings
    if not settings.allow_launch:
        return []
    registry = await asyncio.to_thread(
        build_registry,
        data_dir=settings.data_dir,
        launch_root=settings.launch_root,
        local_url=local_url(settings),
        cancel_grace=settings.cancel_grace,
        server_cert=Path(settings.ssl_certfile) if settings.ssl_certfile else None,
        plugins=settings.plugins,
    )
    for name, error in registry.errors.items():
        log.warning("provider %s is not available: %s", name, error)
    service = LaunchService(state, registry)
    state.extras["launch"] = service
    return [("launch-watcher", service.watch)]
