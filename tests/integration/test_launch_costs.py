"""Issue 21's leftovers through HTTP against a real ``trainboard serve`` and the RunPod stand-in: per-launch
RunPod options, Run again resuming a preempted spot run from its last checkpoint, the cost of every run (RunPod's
``costPerHr``, a providers.toml rate for local jobs; live, in the run and the runs query, sortable), and a
project budget whose crossing is recorded."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.test_launch_runpod import events_of, launch_record, pod_env, pod_of, run_of, wait_for
from tests.support.alert_receivers import http_receiver
from tests.support.auth import Seeded, seed
from tests.support.runpod_standin import RunPodStandIn, runpod_standin
from tests.support.servers import ServerProcess

pytest.importorskip("runpod")

A100 = "NVIDIA A100 80GB PCIe"
IMAGE = "ghcr.io/example/trainer:1"
#: $/hour of a local job: one dollar a second, so a short job has a cost the test can measure
LOCAL_RATE = 3600.0

Env = tuple[ServerProcess, Seeded, Path]


@pytest.fixture(scope="module")
def standin() -> Iterator[RunPodStandIn]:
    with runpod_standin() as s:
        yield s


@pytest.fixture(scope="module")
def volumes(standin: RunPodStandIn) -> tuple[str, str]:
    """The configured default volume (EU-RO-1) and another one (US-KS-2) a launch may pick instead."""
    return standin.add_volume("default", 50, "EU-RO-1"), standin.add_volume("other", 200, "US-KS-2")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, standin: RunPodStandIn, volumes: tuple[str, str]) -> Iterator[Env]:
    """RunPod on-demand pods on the default volume (CUDA 12.4); local jobs priced at ``LOCAL_RATE``."""
    data = tmp_path_factory.mktemp("launch-costs")
    root = data / "jobs"
    root.mkdir()
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(root)])
    (data / "providers.toml").write_text(
        f'public_url = "{server.url}"\n'
        "[rates]\n"
        '"RTX 4090" = 0.5\n'
        "[providers.local]\n"
        f"rate_per_hour = {LOCAL_RATE}\n"
        "[providers.runpod]\n"
        f'api_key = "{standin.api_key}"\n'
        f'api_url = "{standin.url}"\n'
        f'gpu_types = ["NVIDIA GeForce RTX 4090", "{A100}"]\n'
        f'image = "{IMAGE}"\n'
        f'network_volume_id = "{volumes[0]}"\n'
        'data_center_id = "EU-RO-1"\n'
        'allowed_cuda_versions = ["12.4"]\n',
        encoding="utf-8",
    )
    seeded = seed(data)
    server.start(timeout=120)  # runpod's import is slow on a loaded machine
    try:
        yield server, seeded, root
    finally:
        server.stop()


def api(env: Env, who: str = "ann") -> httpx.Client:
    return httpx.Client(base_url=env[0].url, timeout=30, headers=env[1].headers(who))


def rp(env: Env) -> tuple[ServerProcess, Seeded]:
    return env[0], env[1]


def launch(env: Env, **body: Any) -> httpx.Response:
    with api(env) as c:
        return c.post("/api/launch", json={"provider": "runpod", "argv": ["python", "train.py"], **body})


# ---- per-launch RunPod options ------------------------------------------------------------------------------


def test_a_launch_overrides_the_runpod_defaults_and_keeps_what_it_asked(
    env: Env, standin: RunPodStandIn, volumes: tuple[str, str]
) -> None:
    options = {
        "volume": {"id": volumes[1], "mount_path": "/data"},
        "interruptible": True,
        "bid_per_gpu": 0.85,
        "cuda_versions": ["12.6", "12.8"],
    }
    r = launch(env, resources={"gpus": 1, "gpu_type": A100}, runpod=options, name="rp-options")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    assert pod.mutation == "podRentInterruptable"  # this launch is a spot pod; the file says on-demand
    inp = pod.input
    assert (inp["networkVolumeId"], inp["volumeMountPath"], inp["bidPerGpu"]) == (volumes[1], "/data", 0.85)
    assert "dataCenterId" not in inp  # the other volume's own data centre, not the file's EU-RO-1
    assert inp["allowedCudaVersions"] == ["12.6", "12.8"]
    assert pod_env(pod)["TRAINBOARD_CHECKPOINT_DIR"] == f"/data/trainboard/{run_id}"
    assert launch_record(rp(env), run_id)["spec"]["options"] == options
    with api(env) as c:
        c.post(f"/api/runs/{run_id}/cancel")


def test_without_options_the_file_decides(env: Env, standin: RunPodStandIn, volumes: tuple[str, str]) -> None:
    r = launch(env, resources={"gpu_type": A100}, name="rp-defaults")
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    assert pod.mutation == "podFindAndDeployOnDemand"
    assert (pod.input["networkVolumeId"], pod.input["dataCenterId"]) == (volumes[0], "EU-RO-1")
    assert "options" not in launch_record(rp(env), run_id)["spec"]
    with api(env) as c:
        c.post(f"/api/runs/{run_id}/cancel")


@pytest.mark.parametrize(
    ("provider", "options", "field", "message"),
    [
        ("runpod", {"cuda_versions": ["twelve"]}, ["body", "runpod", "cuda_versions", 0], "pattern"),
        ("runpod", {"volume": {"mount_path": "data"}}, ["body", "runpod", "volume", "mount_path"], "pattern"),
        ("runpod", {"bid_per_gpu": -1}, ["body", "runpod", "bid_per_gpu"], "greater than 0"),
        ("runpod", {"data_center_id": "eu ro"}, ["body", "runpod", "data_center_id"], "pattern"),
        ("runpod", {"gpu": "A100"}, ["body", "runpod", "gpu"], "Extra inputs"),
        ("runpod", {"interruptible": True}, ["body", "runpod", "bid_per_gpu"], "needs a bid"),
        ("local", {"interruptible": True}, ["body", "runpod", "interruptible"], "takes no 'interruptible'"),
    ],
)
def test_bad_options_are_refused_naming_the_field_before_anything_is_made(
    env: Env, standin: RunPodStandIn, provider: str, options: dict[str, Any], field: list[Any], message: str
) -> None:
    pods = len(standin.pods)
    with api(env) as c:
        before = c.get("/api/runs", params={"limit": 1000}).json()["total"]
        r = c.post(
            "/api/launch",
            json={"provider": provider, "argv": ["python"], "resources": {"gpu_type": A100}, "runpod": options},
        )
        assert r.status_code == 422, r.text
        errors = r.json()["detail"]
        assert any(e["loc"] == field and message in e["msg"] for e in errors), errors
        assert c.get("/api/runs", params={"limit": 1000}).json()["total"] == before
    assert len(standin.pods) == pods


# ---- Run again resumes a preempted spot run -----------------------------------------------------------------


def test_run_again_resumes_a_preempted_spot_run_from_its_last_checkpoint(env: Env, standin: RunPodStandIn) -> None:
    spot = {"interruptible": True, "bid_per_gpu": 0.9}
    r = launch(env, resources={"gpus": 2, "gpu_type": A100}, runpod=spot, name="rp-resume")
    old = r.json()["id"]
    pod = pod_of(standin, old)
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    where = pod_env(pod)["TRAINBOARD_CHECKPOINT_DIR"]
    with api(env) as c:  # the job registers two checkpoints on the volume, as the SDK would
        for step in (100, 200):
            made = c.post(f"/api/runs/{old}/checkpoints", json={"path": f"{where}/step_{step}.pt", "step": step})
            assert made.status_code in (200, 201), made.text
    standin.preempt(pod.id)
    wait_for(lambda: launch_record(rp(env), old)["finished"], "the preempted job to end")
    assert run_of(rp(env), old)["status"] == "interrupted"
    record = launch_record(rp(env), old)
    assert (record["state"], record["reason"]) == ("preempted", "preempted")

    # Run again, as the dialog sends it: the old spec and options, resuming from the old run
    again = launch(
        env, resources={"gpus": 2, "gpu_type": A100}, runpod=record["spec"]["options"], name="rp-resume",
        resume_from=old,
    )  # fmt: skip
    assert again.status_code == 201, again.text
    new = again.json()["id"]
    new_env = pod_env(pod_of(standin, new))
    assert new_env["TRAINBOARD_RESUME_FROM"] == f"{where}/step_200.pt"  # the last one, on the network volume
    assert new_env["TRAINBOARD_CHECKPOINT_DIR"] == where.replace(old, new)  # the same volume
    assert launch_record(rp(env), new)["spec"]["resume_from"]["run_id"] == old
    linked = [e for e in events_of(rp(env), new) if e["kind"] == "resumed_from"]
    assert linked and old in linked[0]["message"] and "step_200.pt" in linked[0]["message"]
    back = [e for e in events_of(rp(env), old) if e["kind"] == "resumed_as"]
    assert back and new in back[0]["message"]
    with api(env) as c:
        c.post(f"/api/runs/{new}/cancel")


def test_resuming_a_run_without_a_checkpoint_is_refused(env: Env) -> None:
    with api(env) as c:
        plain = c.post("/api/runs", json={"name": "no-checkpoints"}).json()["id"]
        r = c.post("/api/launch", json={"provider": "runpod", "argv": ["python"], "resume_from": plain})
        assert r.status_code == 422
        assert any(e["loc"] == ["body", "resume_from"] and "no checkpoint" in e["msg"] for e in r.json()["detail"])
        r = c.post("/api/launch", json={"provider": "runpod", "argv": ["python"], "resume_from": "nope"})
        assert any("not found" in e["msg"] for e in r.json()["detail"])


# ---- cost -------------------------------------------------------------------------------------------------------


def cost_of(env: Env, run_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = run_of(rp(env), run_id).get("cost")
    return found


def test_a_runpod_run_costs_its_pods_price_live_and_the_runs_query_sorts_by_it(
    env: Env, standin: RunPodStandIn
) -> None:
    cheap = launch(env, resources={"gpu_type": "NVIDIA GeForce RTX 4090"}, name="rp-cheap", project="costs").json()
    dear = launch(env, resources={"gpus": 2, "gpu_type": A100}, name="rp-dear", project="costs").json()
    for run in (cheap, dear):
        pod = pod_of(standin, run["id"])
        standin.set_pod_state(pod.id, "RUNNING", started=True)
    first = wait_for(lambda: cost_of(env, dear["id"]), "RunPod's price to be recorded")
    price = standin._cost(pod_of(standin, dear["id"]))
    assert (first["usd_per_hour"], first["source"], first["live"]) == (price, "runpod costPerHr", True)
    time.sleep(1.0)
    later = cost_of(env, dear["id"])
    assert later is not None and later["usd"] > first["usd"]  # live: it grows while the run runs
    assert later["usd"] == pytest.approx(later["hours"] * price, rel=1e-3)
    wait_for(lambda: cost_of(env, cheap["id"]), "the cheap pod's price")
    with api(env) as c:
        listed = c.get("/api/runs", params={"filter": "project = costs", "sort": "-cost"}).json()["runs"]
        assert [r["name"] for r in listed] == ["rp-dear", "rp-cheap"]
        assert all(r["cost"]["usd"] > 0 for r in listed)  # the list carries the cost too
        listed = c.get("/api/runs", params={"filter": "project = costs", "sort": "cost"}).json()["runs"]
        assert [r["name"] for r in listed] == ["rp-cheap", "rp-dear"]
        for run in (cheap, dear):
            c.post(f"/api/runs/{run['id']}/cancel")
    ended = wait_for(lambda: (x := cost_of(env, dear["id"])) and not x["live"] and x, "the cost to stop")
    time.sleep(0.5)
    assert cost_of(env, dear["id"]) == ended  # an ended run's cost no longer grows


def test_a_local_job_costs_the_configured_rate_and_a_plain_run_has_no_cost(env: Env) -> None:
    with api(env) as c:
        r = c.post(
            "/api/launch",
            json={
                "provider": "local",
                "argv": [sys.executable, "-c", "import time; time.sleep(1.5)"],
                "cwd": str(env[2]),
            },
        )
        assert r.status_code == 201, r.text
        run_id = r.json()["id"]
        record = c.get(f"/api/runs/{run_id}/launch").json()
        assert record["spec"]["price"] == {
            "usd_per_hour": LOCAL_RATE,
            "source": "providers.toml [providers.local] rate_per_hour",
        }
        run = wait_for(lambda: (x := c.get(f"/api/runs/{run_id}").json())["status"] == "completed" and x, "the job")
        cost = run["cost"]
        assert cost["usd_per_hour"] == LOCAL_RATE and not cost["live"]
        assert cost["usd"] == pytest.approx(cost["hours"] * LOCAL_RATE, rel=1e-3)
        assert 1.5 <= cost["usd"] < 60  # a dollar a second, from launch to end
        plain = c.post("/api/runs", json={"name": "by-hand"}).json()
        assert c.get(f"/api/runs/{plain['id']}").json()["cost"] is None  # no price: no cost, never a guess


def test_a_runpod_launch_has_no_price_until_its_pod_reports_one(env: Env) -> None:
    r = launch(env, resources={"gpu_type": A100}, name="rp-unpriced")
    run_id = r.json()["id"]
    price = launch_record(rp(env), run_id)["spec"]["price"]  # at launch: RunPod has not said yet
    assert price["usd_per_hour"] is None and "not reported yet" in price["source"]
    with api(env) as c:
        c.post(f"/api/runs/{run_id}/cancel")


# ---- budgets ----------------------------------------------------------------------------------------------------


def test_a_project_budget_is_crossed_once_and_recorded_on_its_run(env: Env) -> None:
    with api(env) as c, http_receiver() as hook:
        # the project's alert channels hear about the crossing (as of an alert the training code raises)
        rule = c.post(
            "/api/alert-rules",
            json={
                "name": "crashes",
                "project": "budgeted",
                "condition": {"kind": "status"},
                "channels": [f"json://{hook.url}/budget"],
            },
        )
        assert rule.status_code == 201, rule.text
        r = c.put("/api/projects/budgeted/budget", json={"usd": 2.0})
        assert r.status_code == 200, r.text
        assert r.json()["crossed_at"] is None and r.json()["spent_usd"] == 0
        r = c.post(
            "/api/launch",
            json={
                "provider": "local",
                "argv": [sys.executable, "-c", "import time; time.sleep(6)"],
                "cwd": str(env[2]),
                "project": "budgeted",
            },
        )
        run_id = r.json()["id"]
        crossed = wait_for(
            lambda: (x := c.get("/api/projects/budgeted/budget").json())["crossed_at"] and x, "the crossing", 30
        )
        assert crossed["crossed_usd"] >= 2.0 and crossed["spent_usd"] >= crossed["crossed_usd"]
        events = [e for e in c.get(f"/api/runs/{run_id}/events").json()["events"] if e["kind"] == "budget"]
        assert len(events) == 1 and "spent $" in events[0]["message"] and "$2.00 budget" in events[0]["message"]
        time.sleep(3)  # checked again and again: recorded once
        events = [e for e in c.get(f"/api/runs/{run_id}/events").json()["events"] if e["kind"] == "budget"]
        assert len(events) == 1
        assert any(b["project"] == "budgeted" for b in c.get("/api/budgets").json()["budgets"])
        sent = hook.wait_for(lambda r: "budget crossed" in r.json().get("title", ""))
        assert "$2.00 budget" in sent.json()["message"]
        assert len([r for r in hook.requests if "budget crossed" in r.json().get("title", "")]) == 1
        c.post(f"/api/runs/{run_id}/cancel")


def test_only_admins_set_budgets_and_a_bad_amount_names_the_field(env: Env) -> None:
    with api(env, "ed") as c:
        r = c.put("/api/projects/p/budget", json={"usd": 5})
        assert r.status_code == 403
    with api(env) as c:
        r = c.put("/api/projects/p/budget", json={"usd": -5})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "usd"]
        assert c.get("/api/projects/p/budget").status_code == 404
        assert c.put("/api/projects/p/budget", json={"usd": 5}).status_code == 200
        assert c.delete("/api/projects/p/budget").status_code == 204
