"""System sources against recorded responses of their libraries (NVML, amdsmi, xpu-smi).

Each fake stands at the library boundary and answers with values shaped as the real library returns them: the
NVML fake returns the real ``pynvml`` structures (``nvmlFriendlyObject`` process infos,
``c_nvmlProcessUtilizationSample_t`` samples) and raises the real ``pynvml`` error classes; the amdsmi fake
returns ROCm 6's dicts; the xpu-smi runner returns JSON as ``xpu-smi discovery -j`` / ``stats -j`` print it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import psutil
import pynvml
import pytest

from trainboard.sysinfo import SystemCollector
from trainboard.system_sources import load_sources
from trainboard.system_sources.amd import AmdSmi
from trainboard.system_sources.intel import XpuSmi
from trainboard.system_sources.nvidia_procs import NvidiaProcesses

GIB = 1024**3


def _proc(pid: int, used: int | None) -> Any:
    # what nvmlDeviceGetComputeRunningProcesses_v3 builds: a friendly object, usedGpuMemory None when not available
    return pynvml.nvmlFriendlyObject(
        {"pid": pid, "usedGpuMemory": used, "gpuInstanceId": 0xFFFFFFFF, "computeInstanceId": 0xFFFFFFFF}
    )


def _util(pid: int, ts: int, sm: int, mem: int = 0) -> pynvml.c_nvmlProcessUtilizationSample_t:
    return pynvml.c_nvmlProcessUtilizationSample_t(pid, ts, sm, mem, 0, 0)


class RecordedNvml:
    """``pynvml`` with two GPUs: GPU 0 shared by the run (pids 4242 and its worker 4243) and another job (999);
    GPU 1 used by the other job only. Utilisation samples arrive in two windows."""

    NVMLError = pynvml.NVMLError
    NVMLError_NotFound = pynvml.NVMLError_NotFound
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported

    def __init__(self) -> None:
        self.windows: list[dict[int, list[Any]]] = [
            {
                0: [
                    _util(4242, 1_000_100, 60),
                    _util(4242, 1_000_200, 80),
                    _util(4243, 1_000_150, 10),
                    _util(999, 1_000_120, 25),
                ],
                1: [_util(999, 1_000_110, 90)],
            },
            {0: [], 1: [_util(999, 2_000_000, 50)]},  # the run ran no kernel in the second window
        ]
        self.timestamps: list[tuple[int, int]] = []
        self.memory: dict[int, list[Any]] = {
            0: [_proc(4242, 30 * GIB), _proc(4243, 2 * GIB), _proc(999, 40 * GIB)],
            1: [_proc(999, 10 * GIB)],
        }

    def nvmlInit(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetComputeRunningProcesses(self, handle: int) -> list[Any]:
        return self.memory[handle]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: int) -> list[Any]:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)  # a datacenter board has no graphics processes

    def nvmlDeviceGetProcessUtilization(self, handle: int, last_seen: int) -> list[Any]:
        self.timestamps.append((handle, last_seen))
        samples = self.windows[0][handle]
        if not samples:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)  # what NVML answers for "no sample since"
        return samples


def test_nvml_run_share_of_a_shared_gpu() -> None:
    nvml = RecordedNvml()
    source = NvidiaProcesses(nvml)
    assert source.status() == "detected: 2 GPU(s) through NVML"
    first = source.read(frozenset({4242, 4243}))
    # GPU 0: the run's two processes; the other job's 40 GiB and 25 % are not the run's
    assert first == {
        "sys/gpu0/proc_memory_used": float(32 * GIB),
        "sys/gpu0/proc_utilization": 70.0 + 10.0,  # mean per process (60, 80 -> 70) summed
        "sys/gpu0/proc_count": 2.0,
    }
    nvml.windows.pop(0)
    nvml.memory[0] = [_proc(999, 40 * GIB)]  # the run let go of the GPU
    second = source.read(frozenset({4242, 4243}))
    assert second == {"sys/gpu0/proc_memory_used": 0.0, "sys/gpu0/proc_utilization": 0.0, "sys/gpu0/proc_count": 0.0}
    # each window asks NVML only for samples newer than the last one seen on that GPU
    assert nvml.timestamps == [(0, 0), (1, 0), (0, 1_000_200), (1, 1_000_110)]


def test_nvml_memory_not_available_is_left_out() -> None:
    nvml = RecordedNvml()
    nvml.memory[0] = [_proc(4242, None)]  # Windows WDDM: NVML_VALUE_NOT_AVAILABLE -> None in pynvml
    out = NvidiaProcesses(nvml).read(frozenset({4242}))
    assert "sys/gpu0/proc_memory_used" not in out
    assert out["sys/gpu0/proc_count"] == 1.0


def test_nvml_capped_at_100_percent() -> None:
    nvml = RecordedNvml()
    nvml.windows[0][0] = [_util(4242, 5, 90), _util(4243, 6, 70)]
    assert NvidiaProcesses(nvml).read(frozenset({4242, 4243}))["sys/gpu0/proc_utilization"] == 100.0


def test_nvml_without_library_is_not_detected() -> None:
    class Broken:
        def nvmlInit(self) -> None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    source = NvidiaProcesses(Broken())
    assert source.read(frozenset({1})) == {}
    assert source.status().startswith("not detected: NVML unavailable: NVMLError_LibraryNotFound")


class AmdSmiException(Exception):
    pass


def recorded_amdsmi(process_list: list[Any]) -> Any:
    """ROCm 6 ``amdsmi`` on an MI250X node with one GCD visible: values as its calls return them."""

    def temp(handle: str, kind: str, metric: str) -> int:
        assert (kind, metric) == ("EDGE", "CURRENT")
        return 41

    def power(handle: str) -> dict[str, Any]:
        return {"current_socket_power": "N/A", "average_socket_power": 212, "gfx_voltage": 806, "power_limit": 500}

    return SimpleNamespace(
        amdsmi_init=lambda: None,
        amdsmi_get_processor_handles=lambda: ["gcd0"],
        amdsmi_get_gpu_activity=lambda h: {"gfx_activity": 97, "umc_activity": 35, "mm_activity": "N/A"},
        amdsmi_get_gpu_vram_usage=lambda h: {"vram_total": 65520, "vram_used": 40960},
        amdsmi_get_power_info=power,
        amdsmi_get_temp_metric=temp,
        AmdSmiTemperatureType=SimpleNamespace(EDGE="EDGE"),
        AmdSmiTemperatureMetric=SimpleNamespace(CURRENT="CURRENT"),
        amdsmi_get_gpu_process_list=lambda h: process_list,
        amdsmi_get_gpu_process_info=lambda h, p: p.info,
    )


def _amd_proc(pid: int, vram: int) -> dict[str, Any]:
    return {
        "name": "python3",
        "pid": pid,
        "mem": vram,
        "engine_usage": {"gfx": 123456789, "enc": 0},
        "memory_usage": {"gtt_mem": 2097152, "cpu_mem": 1048576, "vram_mem": vram},
    }


def test_amdsmi_device_and_run_share() -> None:
    lib = recorded_amdsmi([_amd_proc(4242, 20 * GIB), _amd_proc(999, 10 * GIB)])
    source = AmdSmi(lib)
    assert source.status() == "detected: 1 GPU(s) through amdsmi"
    assert source.read(frozenset({4242})) == {
        "sys/amd_gpu0/utilization": 97.0,
        "sys/amd_gpu0/memory_used": 40960.0 * 1024 * 1024,
        "sys/amd_gpu0/memory_total": 65520.0 * 1024 * 1024,
        "sys/amd_gpu0/power_watts": 212.0,  # current_socket_power is "N/A" on MI200: the average is used
        "sys/amd_gpu0/temperature_c": 41.0,
        "sys/amd_gpu0/proc_count": 1.0,
        "sys/amd_gpu0/proc_memory_used": float(20 * GIB),
    }


def test_amdsmi_rocm5_process_handles() -> None:
    handle = SimpleNamespace(info=_amd_proc(4242, 3 * GIB))  # ROCm 5: handles, then amdsmi_get_gpu_process_info
    out = AmdSmi(recorded_amdsmi([handle])).read(frozenset({4242}))
    assert out["sys/amd_gpu0/proc_memory_used"] == float(3 * GIB)


def test_amdsmi_missing_or_failing_is_not_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise AmdSmiException("AMDSMI_STATUS_INIT_ERROR")

    broken = AmdSmi(SimpleNamespace(amdsmi_init=fail))
    assert broken.read(frozenset()) == {}
    assert broken.status() == "not detected: amdsmi unavailable: AmdSmiException: AMDSMI_STATUS_INIT_ERROR"
    monkeypatch.setitem(__import__("sys").modules, "amdsmi", None)  # not installed
    assert AmdSmi().status().startswith("not detected: amdsmi unavailable:")


DISCOVERY = {
    "device_list": [
        {"device_id": 0, "device_name": "Intel(R) Data Center GPU Max 1550", "pci_bdf_address": "0000:4b:00.0"}
    ]
}
STATS = {
    "device_id": 0,
    "device_level": [
        {"avg": 24.01, "max": 24.22, "metrics_type": "XPUM_STATS_POWER", "min": 24.01, "value": 44.69},
        {"metrics_type": "XPUM_STATS_ENERGY", "value": 6159791},
        {"metrics_type": "XPUM_STATS_GPU_FREQUENCY", "value": 1550},
        {"metrics_type": "XPUM_STATS_GPU_CORE_TEMPERATURE", "value": 53.0},
        {"metrics_type": "XPUM_STATS_MEMORY_USED", "value": 229.1875},
        {"metrics_type": "XPUM_STATS_GPU_UTILIZATION", "value": 88},
    ],
}


def test_xpu_smi_recorded() -> None:
    calls: list[list[str]] = []

    def run(args: Sequence[str]) -> str:
        calls.append(list(args))
        return json.dumps(DISCOVERY if args[0] == "discovery" else STATS)

    source = XpuSmi(run)
    assert source.read(frozenset()) == {
        "sys/intel_gpu0/power_watts": 44.69,
        "sys/intel_gpu0/temperature_c": 53.0,
        "sys/intel_gpu0/memory_used": 229.1875 * 1024 * 1024,  # MiB in xpu-smi 1.2+
        "sys/intel_gpu0/utilization": 88.0,
    }
    assert calls == [["discovery", "-j"], ["stats", "-d", "0", "-j"]]


def test_xpu_smi_old_bytes_and_absent() -> None:
    old = {"device_level": [{"metrics_type": "XPUM_STATS_MEMORY_USED", "value": 8501719040}]}
    source = XpuSmi(lambda a: json.dumps(DISCOVERY if a[0] == "discovery" else old))
    assert source.read(frozenset()) == {"sys/intel_gpu0/memory_used": 8501719040.0}
    assert XpuSmi(lambda a: (_ for _ in ()).throw(FileNotFoundError("xpu-smi is not on PATH"))).status() == (
        "not detected: xpu-smi unavailable: FileNotFoundError: xpu-smi is not on PATH"
    )


def test_collector_hands_the_run_process_tree_to_sources() -> None:
    seen: list[frozenset[int]] = []

    class Source:
        name = "probe"

        def status(self) -> str:
            return "detected: probe"

        def read(self, pids: frozenset[int]) -> dict[str, float]:
            seen.append(pids)
            return {"sys/probe/value": 1.0}

    child = psutil.Popen(["sleep", "5"])
    try:
        sample = SystemCollector(sources=[Source()]).collect(psutil.Process())
    finally:
        child.kill()
        child.wait()
    assert sample["sys/probe/value"] == 1.0
    assert {os.getpid(), child.pid} <= seen[0]


def test_builtin_sources_degrade_to_not_detected_here() -> None:
    statuses = {s.name: s.status() for s in load_sources(enabled=[])}
    assert set(statuses) == {"nvidia-processes", "amd", "intel"}
    for status in statuses.values():
        assert status.startswith(("detected: ", "not detected: "))
