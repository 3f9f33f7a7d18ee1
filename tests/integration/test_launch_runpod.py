"""The ``runpod`` provider against a local stand-in of RunPod's API (this network cannot reach RunPod).

A real ``trainboard serve --allow-launch`` (authentication on: the job's token must travel as a RunPod secret)
uses the official ``runpod`` package, pointed at the stand-in by ``api_url``. The stand-in validates every
GraphQL document against RunPod's schema for those calls and records what it received. One test also plays
the pod: it runs the start command the pod was created with, with the environment RunPod would give it
(secrets substituted, ``RUNPOD_POD_ID``, a pod-scoped ``RUNPOD_API_KEY``), so the wrapped command really
records into the run and the pod really terminates itself through the API.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.auth import Seeded, seed
from tests.support.runpod_standin import RunPodStandIn, StandInPod, runpod_standin
from tests.support.servers import ServerProcess

from trainboard.server.providers.base import JobSpec, JobState, ProviderContext
from trainboard.server.providers.runpod import create

pytest.importorskip("runpod")

A100 = "NVIDIA A100 80GB PCIe"
UNKNOWN_TO_RUNPOD = "NVIDIA B300 SXM"  # offered in providers.toml, but RunPod has no such GPU type
IMAGE = "pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime"
DEFAULT_IMAGE = "ghcr.io/example/default-trainer:1.0"  # providers.toml's image
CPU_INSTANCE = "cpu3g-4-16"


@pytest.fixture(scope="module")
def standin() -> Iterator[RunPodStandIn]:
    with runpod_standin() as s:
        yield s


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, standin: RunPodStandIn) -> Iterator[tuple[ServerProcess, Seeded]]:
    data = tmp_path_factory.mktemp("runpod-launch")
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(data)])
    (data / "providers.toml").write_text(
        f'public_url = "{server.url}"\n'
        "[providers.runpod]\n"
        f'api_key = "{standin.api_key}"\n'
        f'api_url = "{standin.url}"\n'
        'install = "true"\n'  # the client is already on this machine's PATH (.venv/bin)
        f'gpu_types = ["NVIDIA GeForce RTX 4090", "{A100}", "{UNKNOWN_TO_RUNPOD}"]\n'
        f'image = "{DEFAULT_IMAGE}"\n'
        f'cpu_instance_id = "{CPU_INSTANCE}"\n',
        encoding="utf-8",
    )
    seeded = seed(data)
    server.start(timeout=120)  # importing runpod takes long on a loaded machine
    try:
        yield server, seeded
    finally:
        server.stop()


def api(env: tuple[ServerProcess, Seeded]) -> httpx.Client:
    server, seeded = env
    return httpx.Client(base_url=server.url, timeout=30, headers=seeded.headers("ann"))


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def launch(tb: tuple[ServerProcess, Seeded], /, **body: Any) -> httpx.Response:
    with api(tb) as c:
        return c.post("/api/launch", json={"provider": "runpod", "image": IMAGE, **body})


def pod_of(standin: RunPodStandIn, run_id: str) -> StandInPod:
    for pod in list(standin.pods.values()):
        if any(e["key"] == "TRAINBOARD_LAUNCH_RUN_ID" and e["value"] == run_id for e in pod.input.get("env") or []):
            return pod
    raise AssertionError(f"no pod for run {run_id}")


def pod_env(pod: StandInPod) -> dict[str, str]:
    return {e["key"]: e["value"] for e in pod.input["env"]}


def launch_record(env: tuple[ServerProcess, Seeded], run_id: str) -> dict[str, Any]:
    with api(env) as c:
        r = c.get(f"/api/runs/{run_id}/launch")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


def events_of(env: tuple[ServerProcess, Seeded], run_id: str) -> list[dict[str, Any]]:
    with api(env) as c:
        found: list[dict[str, Any]] = c.get(f"/api/runs/{run_id}/events").json()["events"]
        return found


def run_of(env: tuple[ServerProcess, Seeded], run_id: str) -> dict[str, Any]:
    with api(env) as c:
        body: dict[str, Any] = c.get(f"/api/runs/{run_id}").json()
        return body


def test_providers_lists_runpod_as_reachable_with_its_gpu_types(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    with api(env) as c:
        body = c.get("/api/providers").json()
    runpod = next(p for p in body["providers"] if p["name"] == "runpod")
    assert runpod["reachable"] is True, runpod
    assert runpod["capabilities"]["gpus"] is True and runpod["capabilities"]["image"] is True
    assert A100 in runpod["capabilities"]["gpu_types"]
    assert runpod["capabilities"]["default_image"] == DEFAULT_IMAGE  # the image a launch may leave out
    assert "gpuTypes" in standin.operations()
    assert all(r.headers["authorization"] == f"Bearer {standin.api_key}" for r in standin.graphql_requests())


def test_a_launch_without_image_or_gpus_is_a_cpu_pod_of_the_configured_image(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    before = len(standin.graphql_requests())
    with api(env) as c:
        r = c.post("/api/launch", json={"provider": "runpod", "argv": ["python", "prep.py"], "name": "rp-cpu"})
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    sent = [q for q in standin.graphql_requests()[before:] if q.operation != "pod"]
    assert [q.operation for q in sent] == ["deployCpuPod"]  # no GPU type looked up
    pod = pod_of(standin, run_id)
    inp = pod.input
    assert inp["imageName"] == DEFAULT_IMAGE
    assert inp["instanceId"] == CPU_INSTANCE
    assert "gpuTypeId" not in inp and "gpuCount" not in inp
    assert inp["templateId"] == "runpod-ubuntu"  # what the runpod package adds to a CPU pod
    assert inp["containerDiskInGb"] == 20 and inp["cloudType"] == "ALL"
    assert pod_env(pod)["TRAINBOARD_LAUNCH_RUN_ID"] == run_id
    record = launch_record(env, run_id)
    assert record["job_id"] == pod.id
    assert record["spec"]["image"] == DEFAULT_IMAGE  # what it ran in, for a relaunch
    with api(env) as c:
        assert c.post(f"/api/runs/{run_id}/cancel").status_code == 200
    assert pod.id not in standin.pods

    # a GPU type without a count is one GPU of that type
    with api(env) as c:
        r = c.post("/api/launch", json={"provider": "runpod", "argv": ["python"], "resources": {"gpu_type": A100}})
    assert r.status_code == 201, r.text
    gpu_pod = pod_of(standin, r.json()["id"])
    assert gpu_pod.mutation == "podFindAndDeployOnDemand" and gpu_pod.input["gpuCount"] == 1
    assert gpu_pod.input["imageName"] == DEFAULT_IMAGE
    with api(env) as c:
        c.post(f"/api/runs/{r.json()['id']}/cancel")


def test_a_cpu_pod_refuses_a_size_before_anything_is_created(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    pods = set(standin.pods)
    for field, value in (("cpus", 4), ("memory_mb", 8192)):
        with api(env) as c:
            r = c.post(
                "/api/launch",
                json={
                    "provider": "runpod",
                    "argv": ["python"],
                    "name": f"rp-size-{field}",
                    "resources": {field: value},
                },
            )
            assert r.status_code == 422, r.text
            [err] = r.json()["detail"]
            assert err["loc"] == ["body", "resources", field] and CPU_INSTANCE in err["msg"]
            names = {x["name"] for x in c.get("/api/runs", params={"limit": 500}).json()["runs"]}
        assert f"rp-size-{field}" not in names
    assert set(standin.pods) == pods


def test_find_knows_the_pod_of_a_run(standin: RunPodStandIn, tmp_path: Path) -> None:
    """What the launch watcher asks when the server that deployed a pod died before recording its id."""
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:9")
    provider = create({"api_key": standin.api_key, "api_url": standin.url}, context)
    pod_id = provider.deploy(JobSpec(argv=("python",)), run_id="find-me-1", server_url="http://127.0.0.1:9", token=None)
    assert provider.find("find-me-1") == pod_id
    assert provider.find("find-me") is None and provider.find("no-such-run") is None
    provider.cancel(pod_id)
    assert provider.find("find-me-1") is None


def test_launch_sends_what_runpods_api_expects(env: tuple[ServerProcess, Seeded], standin: RunPodStandIn) -> None:
    argv = [sys.executable, "train.py", "--note", 'it\'s "quoted" $HOME']
    before = len(standin.graphql_requests())
    r = launch(
        env,
        argv=argv,
        env={"SEED": "7"},
        secrets={"HF_TOKEN": "hf_very_secret_value"},
        cwd="/workspace/exp",
        resources={"gpus": 2, "gpu_type": A100, "cpus": 8, "memory_mb": 32768, "time_limit": 3600},
        image=IMAGE,
        name="rp-exact",
    )
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    sent = standin.graphql_requests()[before:]
    # what runpod.create_pod sends: the GPU type lookup, then the on-demand deploy mutation
    sent = [q for q in sent if q.operation != "pod"]  # the server's status polls of earlier launches
    assert [q.operation for q in sent] == ["gpuTypes", "podFindAndDeployOnDemand"]
    for req in sent:
        assert req.method == "POST" and req.path == "/graphql"
        assert req.headers["content-type"] == "application/json"
        assert req.headers["authorization"] == f"Bearer {standin.api_key}"
        assert req.headers["user-agent"].startswith("RunPod-Python-SDK/")
        assert req.document is not None  # parsed, and validated against the schema (else a 400)
    assert f'gpuTypes(input: {{id: "{A100}"}})' in sent[0].query

    pod = pod_of(standin, run_id)
    assert pod.mutation == "podFindAndDeployOnDemand"
    inp = pod.input
    assert inp["gpuTypeId"] == A100
    assert inp["gpuCount"] == 2
    assert inp["imageName"] == IMAGE
    assert inp["cloudType"] == "ALL"
    assert inp["minVcpuCount"] == 8
    assert inp["minMemoryInGb"] == 32
    assert inp["containerDiskInGb"] == 20
    assert inp["name"] == "rp-exact"

    # env: the URL the pod reaches the server at, the allowlisted variable, and secrets only as references
    server, _ = env
    penv = pod_env(pod)
    assert penv["TRAINBOARD_URL"] == server.url
    assert penv["SEED"] == "7"
    token_ref = re.fullmatch(
        r"\{\{ RUNPOD_SECRET_(trainboard_[A-Za-z0-9_]+_TRAINBOARD_TOKEN) \}\}", penv["TRAINBOARD_TOKEN"]
    )
    hf_ref = re.fullmatch(r"\{\{ RUNPOD_SECRET_(trainboard_[A-Za-z0-9_]+_HF_TOKEN) \}\}", penv["HF_TOKEN"])
    assert token_ref and hf_ref, penv
    stored = {s["name"]: s["value"] for s in standin.secrets.values()}
    assert stored[hf_ref.group(1)] == "hf_very_secret_value"
    token = stored[token_ref.group(1)]
    assert token and token not in str(penv)
    for req in standin.graphql_requests():
        assert token not in req.query and "hf_very_secret_value" not in req.query
    secret_posts = [q for q in standin.requests if q.path == "/v2/secrets" and q.method == "POST"]
    assert all(q.headers["authorization"] == f"Bearer {standin.api_key}" for q in secret_posts)

    # the start command: install, cd, then trainboard run (under the time limit) with the argv word for word
    words = shlex.split(inp["dockerArgs"])
    assert words[:2] == ["bash", "-c"] and len(words) == 3
    script = words[2]
    wrapped = [
        "trainboard",
        "run",
        "--run-id",
        run_id,
        "--url",
        server.url,
        "--name",
        "rp-exact",
        "--project",
        "default",
    ]
    expected = "timeout --signal=TERM --kill-after=30 3600 " + shlex.join([*wrapped, "--", *argv])
    assert expected in script, script
    assert "{ true ; } 2>&1 | tee /tmp/trainboard-start.log; rc=${PIPESTATUS[0]}; " in script
    assert "cd /workspace/exp 2>>/tmp/trainboard-start.log || tb_fail 1 " in script
    assert script.index("tee /tmp/trainboard-start.log") < script.index("cd /workspace/exp") < script.index(expected)
    assert "TRAINBOARD_CHECKPOINT_DIR" not in penv and "mkdir -p" not in script  # no volume configured
    assert "TRAINBOARD_CA_PEM" not in penv  # the server serves plain HTTP
    assert token not in inp["dockerArgs"]

    record = launch_record(env, run_id)
    assert record["provider"] == "runpod" and record["job_id"] == pod.id
    assert run_of(env, run_id)["status"] == "queued"  # the pod has no runtime yet: it is starting
    with api(env) as c:
        c.post(f"/api/runs/{run_id}/cancel")


def test_the_pod_runs_the_job_into_the_run_and_terminates_itself(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    code = "import sys; print('hello from the pod', sys.argv[1:]); sys.stdout.flush()"
    args = ['it\'s "q"', "$HOME", "ünï"]
    r = launch(env, argv=[sys.executable, "-c", code, *args], name="rp-pod")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    wait_for(lambda: launch_record(env, run_id)["state"] == "running", "the job to follow the started pod")

    # play the pod: RunPod substitutes secret references at boot and adds the pod's id and pod-scoped key
    secrets = {s["name"]: s["value"] for s in standin.secrets.values()}
    boot = {
        k: re.sub(r"\{\{ RUNPOD_SECRET_([^ ]+) \}\}", lambda m: secrets[m.group(1)], v) for k, v in pod_env(pod).items()
    }
    boot.update(
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        HOME=os.environ.get("HOME", "/tmp"),
        RUNPOD_POD_ID=pod.id,
        RUNPOD_API_KEY=standin.api_key,
        TRAINBOARD_DATA=str(env[0].data_dir / "pod-client"),
    )
    proc = subprocess.Popen(
        shlex.split(pod.input["dockerArgs"]),
        env=boot,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: pod.id not in standin.pods, "the pod to terminate itself", timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the container's `sleep infinity`, which RunPod's terminate ends
        out = proc.communicate(timeout=10)[0]
    run = wait_for(lambda: (r := run_of(env, run_id))["status"] == "completed" and r, "the run to complete")
    assert run["exit_code"] == 0
    with api(env) as c:
        log = c.get(f"/api/runs/{run_id}/logs").content.decode()
    assert f"hello from the pod {args!r}" in log, (log, out)
    terminate = [q for q in standin.graphql_requests() if f'podTerminate(input: {{podId: "{pod.id}"}})' in q.query]
    assert len(terminate) == 1 and terminate[0].headers["authorization"] == f"Bearer {standin.api_key}"
    # the job is seen over: its secrets are deleted; the run keeps the status trainboard run gave it
    wait_for(lambda: not any(run_id.replace("-", "_") in s["name"] for s in standin.secrets.values()), "secrets gone")
    time.sleep(1.5)
    assert run_of(env, run_id)["status"] == "completed"
    # the pod terminating itself is the normal end, not a lost job; its GPU and price outlive it
    record = launch_record(env, run_id)
    assert record["state"] == "completed" and "lost" not in (record["reason"] or ""), record
    assert "terminated outside" not in str(events_of(env, run_id))
    assert record["spec"]["job"] == {"pod_id": pod.id, "gpu_count": 0, "cost_per_hr": 0.08}  # a CPU pod's price


def test_status_follows_the_pod_and_a_stopped_pod_fails_the_run(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    r = launch(env, argv=["python", "train.py"], name="rp-status")
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    assert launch_record(env, run_id)["state"] == "queued"
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    wait_for(lambda: launch_record(env, run_id)["state"] == "running", "running")
    # the start command stops the pod when the client install fails: the run never reached trainboard run
    standin.set_pod_state(pod.id, "EXITED", started=False)
    record = wait_for(lambda: (x := launch_record(env, run_id))["finished"] and x, "the job to end")
    assert record["state"] == "failed" and record["native_state"] == "EXITED"
    assert "stopped before trainboard run reported" in record["reason"]
    assert run_of(env, run_id)["status"] == "failed"


def test_cancel_terminates_the_pod(env: tuple[ServerProcess, Seeded], standin: RunPodStandIn) -> None:
    r = launch(env, argv=["python", "train.py"], name="rp-cancel")
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    wait_for(lambda: launch_record(env, run_id)["state"] == "running", "running")
    with api(env) as c:
        assert c.post(f"/api/runs/{run_id}/cancel").status_code == 200
    assert pod.id not in standin.pods
    assert any(q.operation == "podTerminate" and f'"{pod.id}"' in q.query for q in standin.graphql_requests())
    record = wait_for(lambda: (x := launch_record(env, run_id))["finished"] and x, "the job to end")
    assert record["state"] == "cancelled"
    assert run_of(env, run_id)["status"] == "interrupted"
    assert not any(run_id.replace("-", "_") in s["name"] for s in standin.secrets.values())


def test_runpod_errors_are_clear_failures(env: tuple[ServerProcess, Seeded], standin: RunPodStandIn) -> None:
    secrets_before = len(standin.secrets)
    standin.fail_next = "There are no longer any instances available with the requested specifications."
    r = launch(env, argv=["python", "train.py"], resources={"gpu_type": A100}, name="rp-none")
    assert r.status_code == 502
    assert r.json()["detail"] == (
        f"RunPod API ({standin.url}): There are no longer any instances available with the requested specifications."
    )
    with api(env) as c:
        runs = c.get("/api/runs", params={"limit": 500}).json()["runs"]
    failed = next(x for x in runs if x["name"] == "rp-none")
    assert failed["status"] == "failed"
    assert len(standin.secrets) == secrets_before  # the token's secret, made before the pod, was deleted

    r = launch(env, argv=["python", "train.py"], resources={"gpu_type": "NVIDIA H200"})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "resources", "gpu_type"] and "'NVIDIA H200'" in err["msg"]

    r = launch(env, argv=["python", "train.py"], resources={"gpu_type": UNKNOWN_TO_RUNPOD})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["body", "resources", "gpu_type"]
    assert err["msg"].startswith("No GPU found with the specified ID")


def test_a_wrong_api_key_is_named(standin: RunPodStandIn, tmp_path: Path) -> None:
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:9")
    provider = create({"api_key": "rp_wrong", "api_url": standin.url}, context)
    reach = provider.reachable()
    assert not reach.ok and reach.detail == f"{standin.url} refused the API key"
    with pytest.raises(Exception, match="refused the API key"):
        provider.deploy(JobSpec(argv=("python",)), run_id="x", server_url="http://127.0.0.1:9", token=None)
    gone = create({"api_key": standin.api_key, "api_url": standin.url}, context).status("no-such-pod")
    assert gone.state is JobState.LOST


def test_secrets_of_a_launch_are_deleted_after_a_restart(standin: RunPodStandIn, tmp_path: Path) -> None:
    context = ProviderContext(state_dir=tmp_path / "runpod", launch_root=None, server_url="http://127.0.0.1:9")
    conf = {"api_key": standin.api_key, "api_url": standin.url}
    spec = JobSpec(
        argv=("python", "train.py"), image=IMAGE, env={"WANDB_API_KEY": "wk"}, secret_names=frozenset({"WANDB_API_KEY"})
    )
    pod_id = create(conf, context).deploy(spec, run_id="restart-1", server_url="http://127.0.0.1:9", token="tb_x")
    mine = {sid for sid, s in standin.secrets.items() if s["name"].startswith("trainboard_restart_1_")}
    assert {standin.secrets[sid]["value"] for sid in mine} == {"wk", "tb_x"}
    again = create(conf, context)  # the server restarted: a new provider object, the same state directory
    again.cancel(pod_id)
    assert pod_id not in standin.pods
    assert not mine & set(standin.secrets)
