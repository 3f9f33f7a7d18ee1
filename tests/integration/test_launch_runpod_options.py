"""RunPod as its users need it, against the stand-in (which validates RunPod's schema and the values RunPod
checks): network volumes with the job's checkpoint directory on them, spot pods (``podRentInterruptable``) whose
preemption ends the run ``interrupted`` ("preempted") and terminates the stopped pod, data-centre and CUDA
filters, the GPU name and price kept after the pod is gone, and a failed client install that reports what it
printed to the run and terminates (never stops) its pod."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_launch_runpod import (
    api,
    events_of,
    launch,
    launch_record,
    pod_env,
    pod_of,
    run_of,
    wait_for,
)
from tests.support.auth import Seeded, seed
from tests.support.runpod_standin import RunPodStandIn, StandInPod, runpod_standin
from tests.support.servers import ServerProcess

from trainboard.server.providers.base import JobSpec, ProviderContext, ProviderError, Resources
from trainboard.server.providers.runpod import create

pytest.importorskip("runpod")

A100 = "NVIDIA A100 80GB PCIe"
GPU_SPEC = JobSpec(argv=("python",), image="img:1", resources=Resources(gpus=1))
INSTALL_OUTPUT = "ERROR: No matching distribution found for trainboard"


@pytest.fixture(scope="module")
def standin() -> Iterator[RunPodStandIn]:
    with runpod_standin() as s:
        yield s


@pytest.fixture(scope="module")
def volume(standin: RunPodStandIn) -> str:
    return standin.add_volume("checkpoints", 100, "EU-RO-1")


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, standin: RunPodStandIn, volume: str
) -> Iterator[tuple[ServerProcess, Seeded]]:
    """A server whose RunPod pods are spot pods on a network volume in EU-RO-1, CUDA 12.4 or 12.6, and whose
    client install fails (to see what a failed install leaves)."""
    data = tmp_path_factory.mktemp("runpod-options")
    server = ServerProcess(data_dir=data, db_url=None, extra_args=["--allow-launch", "--launch-root", str(data)])
    (data / "providers.toml").write_text(
        f'public_url = "{server.url}"\n'
        "[providers.runpod]\n"
        f'api_key = "{standin.api_key}"\n'
        f'api_url = "{standin.url}"\n'
        f"install = 'echo \"{INSTALL_OUTPUT}\"; exit 3'\n"
        f'gpu_types = ["NVIDIA GeForce RTX 4090", "{A100}"]\n'
        'image = "ghcr.io/example/trainer:1"\n'
        f'network_volume_id = "{volume}"\n'
        'volume_mount_path = "/vol"\n'
        'data_center_id = "EU-RO-1"\n'
        'allowed_cuda_versions = ["12.4", "12.6"]\n'
        "interruptible = true\n"
        "bid_per_gpu = 0.9\n",
        encoding="utf-8",
    )
    seeded = seed(data)
    server.start(timeout=120)  # importing runpod takes long on a loaded machine
    try:
        yield server, seeded
    finally:
        server.stop()


def test_a_spot_pod_on_the_volume_is_rented_with_the_filters(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn, volume: str
) -> None:
    r = launch(env, argv=["python", "train.py"], resources={"gpus": 2, "gpu_type": A100}, name="rp-spot")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    assert pod.mutation == "podRentInterruptable"  # validated against PodRentInterruptableInput
    inp = pod.input
    assert inp["bidPerGpu"] == 0.9 and inp["gpuTypeId"] == A100 and inp["gpuCount"] == 2
    assert (inp["networkVolumeId"], inp["volumeMountPath"], inp["dataCenterId"]) == (volume, "/vol", "EU-RO-1")
    assert inp["allowedCudaVersions"] == ["12.4", "12.6"]
    assert inp["cloudType"] == "ALL"
    # the job's checkpoints go to the volume: the directory is named in its environment and made at start
    where = f"/vol/trainboard/{run_id}"
    assert pod_env(pod)["TRAINBOARD_CHECKPOINT_DIR"] == where
    assert f"mkdir -p {where}" in shlex.split(inp["dockerArgs"])[2]
    with api(env) as c:
        c.post(f"/api/runs/{run_id}/cancel")


def test_preemption_ends_the_run_interrupted_and_terminates_the_pod_keeping_gpu_and_price(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    r = launch(env, argv=["python", "train.py"], resources={"gpus": 2, "gpu_type": A100}, name="rp-preempt")
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    wait_for(lambda: launch_record(env, run_id)["state"] == "running", "running")
    standin.preempt(pod.id)
    record = wait_for(lambda: (x := launch_record(env, run_id))["finished"] and x, "the job to end")
    assert (record["state"], record["reason"]) == ("preempted", "preempted")
    assert run_of(env, run_id)["status"] == "interrupted"
    assert status_reason(env, run_id) == "preempted"
    assert pod.id not in standin.pods  # a stopped spot pod would bill its volume: terminated
    assert not any(op == "podStop" for op in standin.operations())
    # what the pod was and cost, kept after it is gone
    assert record["spec"]["job"] == {"pod_id": pod.id, "gpu_name": "A100 80GB PCIe", "gpu_count": 2, "cost_per_hr": 1.8}


def status_reason(env: tuple[ServerProcess, Seeded], run_id: str) -> str:
    """Why the run's status last changed (the reason its status_change event keeps)."""
    changes = [e for e in events_of(env, run_id) if e["kind"] == "status_change"]
    return str((changes[-1].get("data") or {}).get("reason"))


def _play(pod: StandInPod, standin: RunPodStandIn, data: Path) -> bytes:
    """Run the pod's start command as RunPod would (secrets substituted, the pod's id and key added)."""
    values = {s["name"]: s["value"] for s in standin.secrets.values()}
    boot = {
        k: re.sub(r"\{\{ RUNPOD_SECRET_([^ ]+) \}\}", lambda m: values[m.group(1)], v) for k, v in pod_env(pod).items()
    }
    boot.update(
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        HOME=os.environ.get("HOME", "/tmp"),
        RUNPOD_POD_ID=pod.id,
        RUNPOD_API_KEY=standin.api_key,
        TRAINBOARD_DATA=str(data / "pod-client"),
    )
    proc = subprocess.Popen(
        shlex.split(pod.input["dockerArgs"]), env=boot, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: pod.id not in standin.pods, "the pod to terminate itself", timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the container's `sleep infinity`
    return proc.communicate(timeout=10)[0]


def test_a_failed_install_reports_its_output_to_the_run_and_terminates_the_pod(
    env: tuple[ServerProcess, Seeded], standin: RunPodStandIn
) -> None:
    r = launch(env, argv=["python", "train.py"], resources={"gpu_type": A100}, name="rp-install")
    run_id = r.json()["id"]
    pod = pod_of(standin, run_id)
    standin.set_pod_state(pod.id, "RUNNING", started=True)
    out = _play(pod, standin, env[0].data_dir)
    assert INSTALL_OUTPUT.encode() in out  # the container log has it too
    run = wait_for(lambda: (x := run_of(env, run_id))["status"] == "failed" and x, "the run to fail")
    assert run["exit_code"] == 3
    assert "installing the client failed (exit 3)" in status_reason(env, run_id)
    with api(env) as c:
        log = c.get(f"/api/runs/{run_id}/logs").content.decode()
    assert INSTALL_OUTPUT in log and "terminating the pod" in log
    assert not any(op == "podStop" for op in standin.operations())  # terminated, never stopped
    record = wait_for(lambda: (x := launch_record(env, run_id))["finished"] and x, "the job to end")
    assert record["state"] == "failed" and "lost" not in str(record["reason"]), record
    assert "terminated outside" not in str(events_of(env, run_id))


def _provider(standin: RunPodStandIn, tmp_path: Path, **conf: Any) -> Any:
    context = ProviderContext(state_dir=tmp_path, launch_root=None, server_url="http://127.0.0.1:9")
    return create({"api_key": standin.api_key, "api_url": standin.url, **conf}, context)


def test_on_demand_pods_take_the_volume_and_filters_through_the_runpod_package(
    standin: RunPodStandIn, volume: str, tmp_path: Path
) -> None:
    provider = _provider(
        standin, tmp_path, network_volume_id=volume, allowed_cuda_versions=["12.4"], gpu_types=[A100], gpu_type=A100
    )
    pod_id = provider.deploy(GPU_SPEC, run_id="od-1", server_url="http://x", token=None)
    pod = standin.pods[pod_id]
    assert pod.mutation == "podFindAndDeployOnDemand"
    # no data_center_id configured: the runpod package looks the volume's up (myself { networkVolumes })
    assert (pod.input["networkVolumeId"], pod.input["dataCenterId"]) == (volume, "EU-RO-1")
    assert pod.input["allowedCudaVersions"] == ["12.4"] and pod.input["volumeMountPath"] == "/workspace"
    status = provider.status(pod_id)
    assert status.details == {"pod_id": pod_id, "gpu_name": "A100 80GB PCIe", "gpu_count": 1, "cost_per_hr": 1.64}
    provider.cancel(pod_id)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"interruptible": True, "bid_per_gpu": 0.1}, "below the minimum bid"),
        ({"data_center_id": "US-KS-2", "network_volume_id": "VOL"}, "is in EU-RO-1, not US-KS-2"),
        ({"data_center_id": "MARS-1"}, "Invalid data center id"),
        ({"allowed_cuda_versions": ["13.9"]}, "Invalid CUDA version"),
    ],
)
def test_what_runpod_refuses_is_a_clear_error(
    standin: RunPodStandIn, volume: str, tmp_path: Path, conf: dict[str, Any], message: str
) -> None:
    conf = {k: (volume if v == "VOL" else v) for k, v in conf.items()}
    provider = _provider(standin, tmp_path, gpu_types=[A100], gpu_type=A100, **conf)
    with pytest.raises(ProviderError, match=message):
        provider.deploy(GPU_SPEC, run_id="bad-1", server_url="http://x", token=None)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"interruptible": True}, "needs bid_per_gpu"),
        ({"allowed_cuda_versions": "12.4"}, "allowed_cuda_versions"),
        ({"volume_mount_path": "vol"}, "absolute path"),
        ({"volume_in_gb": -1}, "volume_in_gb"),
        ({"network_volume_id": 'a"b'}, "network_volume_id"),
    ],
)
def test_bad_settings_name_the_key(standin: RunPodStandIn, tmp_path: Path, conf: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _provider(standin, tmp_path, **conf)
