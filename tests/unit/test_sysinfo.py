from __future__ import annotations

import logging
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psutil
import pynvml
import pytest

from trainboard import sysinfo
from trainboard.sysinfo import PREFIX, SystemCollector, collect_sample, nest_sample

GPU_KEY = PREFIX + "gpu"


@pytest.fixture(autouse=True)
def fresh_nvml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own not-yet-initialised NVML session and default collector."""
    monkeypatch.setattr(sysinfo, "_NVML", sysinfo._Nvml())
    monkeypatch.setattr(sysinfo, "_default", None)
    yield


def machine_gpu_count() -> int:
    try:
        pynvml.nvmlInit()
        return int(pynvml.nvmlDeviceGetCount())
    except Exception:
        return 0


def gpu_keys(sample: dict[str, float]) -> list[str]:
    return [key for key in sample if key.startswith(GPU_KEY)]


def windowed_sample(process: psutil.Process | None = None) -> dict[str, float]:
    collector = SystemCollector()
    time.sleep(0.2)
    return collector.collect(process)


def test_sample_is_flat_finite_floats_under_sys() -> None:
    sample = windowed_sample(psutil.Process())
    assert sample
    for key, value in sample.items():
        assert key.startswith(PREFIX)
        assert isinstance(value, float)
        assert math.isfinite(value)


def test_values_are_plausible_on_this_machine() -> None:
    sample = windowed_sample(psutil.Process())
    assert 0.0 <= sample["sys/cpu_percent"] <= 100.0  # system-wide average over all cores
    assert 0 < sample["sys/ram_used"] <= sample["sys/ram_total"]
    assert 0 < sample["sys/ram_percent"] <= 100.0
    assert sample["sys/proc_rss"] > 1_000_000  # a Python interpreter with pytest loaded
    if sys.platform.startswith("linux"):
        for name in ("disk_read", "disk_write", "net_sent", "net_recv"):
            assert sample.get(f"sys/{name}_bytes_per_s", 0.0) >= 0.0
        assert "sys/net_sent_bytes_per_s" in sample


def test_cpu_percent_sees_a_busy_core() -> None:
    collector = SystemCollector(gpus=False)
    end = time.monotonic() + 0.5
    while time.monotonic() < end:
        pass
    share_of_one_core = 100.0 / (psutil.cpu_count() or 1)
    assert collector.collect()["sys/cpu_percent"] >= 0.5 * share_of_one_core


def test_process_rss_only_when_a_process_is_given() -> None:
    assert "sys/proc_rss" not in windowed_sample()


def test_gone_process_leaves_rss_out() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    child.wait()
    sample = windowed_sample(process)
    assert "sys/proc_rss" not in sample
    assert "sys/ram_used" in sample


def test_gpu_fields_match_this_machine() -> None:
    count = machine_gpu_count()
    keys = gpu_keys(windowed_sample())
    if count == 0:
        assert keys == []  # no NVIDIA device or driver: simply absent
    else:
        for i in range(count):
            assert f"sys/gpu{i}/memory_total" in keys


@pytest.mark.parametrize(
    "error",
    [pynvml.NVMLError(pynvml.NVML_ERROR_DRIVER_NOT_LOADED), OSError("libnvidia-ml.so.1"), RuntimeError("x")],
)
def test_nvml_init_failure_gives_no_gpu_keys_and_one_debug_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    calls = 0

    def failing_init() -> None:
        nonlocal calls
        calls += 1
        raise error

    monkeypatch.setattr(pynvml, "nvmlInit", failing_init)
    caplog.set_level(logging.DEBUG, logger="trainboard.sysinfo")
    collector = SystemCollector()
    samples = [collector.collect() for _ in range(3)] + [collect_sample()]
    assert all(gpu_keys(sample) == [] for sample in samples)
    assert all("sys/ram_used" in sample for sample in samples)
    assert calls == 1  # initialised once, not retried
    records = [r for r in caplog.records if r.name == "trainboard.sysinfo"]
    assert [r.levelno for r in records] == [logging.DEBUG]


class FakeNvml:
    """Two GPUs; the second cannot report power."""

    def __init__(self) -> None:
        self.inits = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in (
            "nvmlInit",
            "nvmlDeviceGetCount",
            "nvmlDeviceGetHandleByIndex",
            "nvmlDeviceGetUtilizationRates",
            "nvmlDeviceGetMemoryInfo",
            "nvmlDeviceGetPowerUsage",
            "nvmlDeviceGetTemperatureV",
        ):
            monkeypatch.setattr(pynvml, name, getattr(self, name))

    def nvmlInit(self) -> None:
        self.inits += 1

    def nvmlDeviceGetCount(self) -> int:
        return 2

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetUtilizationRates(self, handle: int) -> Any:
        return SimpleNamespace(gpu=37 + handle, memory=5)

    def nvmlDeviceGetMemoryInfo(self, handle: int) -> Any:
        return SimpleNamespace(used=2**30, free=79 * 2**30, total=80 * 2**30)

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        if handle == 1:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return 123_456  # milliwatts

    def nvmlDeviceGetTemperatureV(self, handle: int, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return 55


def test_gpu_fields_from_nvml(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeNvml()
    fake.install(monkeypatch)
    caplog.set_level(logging.DEBUG, logger="trainboard.sysinfo")
    collector = SystemCollector()
    first, second = collector.collect(), collector.collect()
    assert fake.inits == 1
    expected = {
        "sys/gpu0/utilization": 37.0,
        "sys/gpu0/memory_used": float(2**30),
        "sys/gpu0/memory_total": float(80 * 2**30),
        "sys/gpu0/power_watts": 123.456,
        "sys/gpu0/temperature_c": 55.0,
        "sys/gpu1/utilization": 38.0,
        "sys/gpu1/memory_used": float(2**30),
        "sys/gpu1/memory_total": float(80 * 2**30),
        "sys/gpu1/temperature_c": 55.0,  # power unsupported on gpu1: left out, the rest kept
    }
    for sample in (first, second):
        assert {key: sample[key] for key in gpu_keys(sample)} == pytest.approx(expected)
    assert (
        len([r for r in caplog.records if r.name == "trainboard.sysinfo"]) == 1
    )  # one debug line for the unsupported field, not one per sample


def test_temperature_falls_back_to_the_unversioned_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeNvml()
    fake.install(monkeypatch)
    monkeypatch.delattr(pynvml, "nvmlDeviceGetTemperatureV")
    monkeypatch.setattr(pynvml, "nvmlDeviceGetTemperature", lambda handle, sensor: 61)
    assert SystemCollector().collect()["sys/gpu0/temperature_c"] == 61.0


def counters(t: float, cpu: tuple[float, float], disk: float, net: float) -> sysinfo._Counters:
    return sysinfo._Counters(time=t, cpu=cpu, disk=(disk, 2 * disk), net=(net, 3 * net))


def test_windowed_values_use_the_previous_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter(
        [
            counters(100.0, (10.0, 100.0), 0.0, 0.0),  # taken by the constructor
            counters(102.0, (60.0, 200.0), 2000.0, 10.0),
            counters(102.01, (61.0, 201.0), 2001.0, 11.0),  # too soon: no window, baseline kept
            counters(104.0, (60.0, 400.0), 1000.0, 30.0),  # disk counter went backwards
        ]
    )
    monkeypatch.setattr(sysinfo, "_read_counters", lambda: next(readings))
    collector = SystemCollector(gpus=False)
    first = collector.collect()
    assert first["sys/cpu_percent"] == pytest.approx(50.0)
    assert first["sys/disk_read_bytes_per_s"] == pytest.approx(1000.0)
    assert first["sys/disk_write_bytes_per_s"] == pytest.approx(2000.0)
    assert first["sys/net_sent_bytes_per_s"] == pytest.approx(5.0)
    assert first["sys/net_recv_bytes_per_s"] == pytest.approx(15.0)
    too_soon = collector.collect()
    assert not any(key.endswith(("_per_s", "cpu_percent")) for key in too_soon)
    assert "sys/ram_used" in too_soon
    third = collector.collect()  # against the reading at t=102
    assert third["sys/cpu_percent"] == pytest.approx(0.0)
    assert "sys/disk_read_bytes_per_s" not in third
    assert third["sys/net_sent_bytes_per_s"] == pytest.approx(10.0)


def test_unreadable_psutil_fields_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported() -> None:
        raise NotImplementedError

    monkeypatch.setattr(psutil, "disk_io_counters", lambda: None)  # what psutil gives with no disks
    monkeypatch.setattr(psutil, "net_io_counters", unsupported)
    monkeypatch.setattr(psutil, "virtual_memory", unsupported)
    sample = windowed_sample(psutil.Process())
    assert "sys/cpu_percent" in sample
    assert "sys/proc_rss" in sample
    for missing in ("disk_read_bytes_per_s", "net_sent_bytes_per_s", "ram_used", "ram_percent"):
        assert "sys/" + missing not in sample


def test_collect_sample_windows_span_calls() -> None:
    first = collect_sample(psutil.Process())
    assert "sys/cpu_percent" not in first  # the first call makes the shared collector: no window yet
    assert first["sys/proc_rss"] > 0
    time.sleep(0.1)
    assert 0.0 <= collect_sample()["sys/cpu_percent"] <= 100.0


def test_one_sample_is_cheap() -> None:
    collector = SystemCollector()
    process = psutil.Process()
    collector.collect(process)  # NVML's first use loads the library
    time.sleep(0.1)
    start = time.thread_time()
    collector.collect(process)
    assert time.thread_time() - start < 0.05  # about 1 ms measured; generous against slow CI


def test_nest_sample() -> None:
    sample = {
        "sys/cpu_percent": 12.5,
        "sys/ram_used": 1e9,
        "sys/gpu10/utilization": 3.0,
        "sys/gpu2/utilization": 1.0,
        "sys/gpu2/power_watts": 70.0,
        "sys/gpuX/utilization": 9.0,
        "sys/future_field": 1.0,
    }
    status = nest_sample(sample)
    assert status["cpu_percent"] == 12.5
    assert status["ram_used"] == 1e9
    assert status["ram_percent"] is None
    assert status["net_recv_bytes_per_s"] is None
    assert [gpu["index"] for gpu in status["gpus"]] == [2, 10]
    assert status["gpus"][0] == {
        "index": 2,
        "utilization": 1.0,
        "memory_used": None,
        "memory_total": None,
        "power_watts": 70.0,
        "temperature_c": None,
    }
    assert "future_field" not in status


def test_nest_sample_of_a_real_sample_has_every_field() -> None:
    status = nest_sample(windowed_sample(psutil.Process()))
    assert set(status) == {
        "cpu_percent",
        "ram_used",
        "ram_total",
        "ram_percent",
        "proc_rss",
        "disk_read_bytes_per_s",
        "disk_write_bytes_per_s",
        "net_sent_bytes_per_s",
        "net_recv_bytes_per_s",
        "gpus",
    }
    assert status["ram_used"] is not None
    assert len(status["gpus"]) == machine_gpu_count()
