"""Intel data-center GPUs through ``xpu-smi`` (Intel XPU Manager's command line, on Level Zero).

``xpu-smi discovery -j`` lists the devices once; each read runs ``xpu-smi stats -d ID -j`` per device (bounded by
a 3 s timeout) and takes its ``device_level`` entries: ``XPUM_STATS_GPU_UTILIZATION`` -> ``utilization``,
``XPUM_STATS_MEMORY_USED`` -> ``memory_used``, ``XPUM_STATS_POWER`` -> ``power_watts``,
``XPUM_STATS_GPU_CORE_TEMPERATURE`` -> ``temperature_c``, as ``sys/intel_gpu{ID}/...``. ``memory_used`` is bytes:
xpu-smi 1.2+ reports MiB (with decimals), the first releases bytes; a whole number of 2^22 or more (4 TiB as MiB,
more than any board) is read as bytes. Per-process figures are not read (``xpu-smi ps`` needs root on most
systems). Without ``xpu-smi`` on PATH, or when discovery fails, the source is "not detected".
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["XpuSmi"]

log = logging.getLogger(__name__)

_FIELDS = {
    "XPUM_STATS_GPU_UTILIZATION": "utilization",
    "XPUM_STATS_MEMORY_USED": "memory_used",
    "XPUM_STATS_POWER": "power_watts",
    "XPUM_STATS_GPU_CORE_TEMPERATURE": "temperature_c",
}
_MIB = 1024 * 1024

#: Runs ``xpu-smi`` with these arguments and returns its stdout (a test passes recorded outputs).
Runner = Callable[[Sequence[str]], str]


def _run_xpu_smi(args: Sequence[str]) -> str:
    exe = shutil.which("xpu-smi")
    if exe is None:
        raise FileNotFoundError("xpu-smi is not on PATH")
    done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=3, check=True)
    return done.stdout


def _memory_bytes(value: float) -> float:
    return value if value == int(value) and value >= 2**22 else value * _MIB


class XpuSmi:
    """The ``intel`` system source (see the module docstring)."""

    name = "intel"

    def __init__(self, runner: Runner | None = None) -> None:
        self._run = runner or _run_xpu_smi
        self._lock = threading.Lock()
        self._devices: list[int] | None = None
        self._why = "not read yet"

    def _start(self) -> list[int]:
        if self._devices is not None:
            return self._devices
        try:
            listed = json.loads(self._run(["discovery", "-j"])).get("device_list", [])
            self._devices = [int(d["device_id"]) for d in listed]
            self._why = f"{len(self._devices)} GPU(s) through xpu-smi"
        except Exception as exc:  # not installed, no device, unreadable output
            self._devices = []
            self._why = f"xpu-smi unavailable: {type(exc).__name__}: {exc}"
        return self._devices

    def status(self) -> str:
        with self._lock:
            devices = self._start()
        return ("detected: " if devices else "not detected: ") + self._why

    def read(self, pids: frozenset[int]) -> dict[str, float]:
        with self._lock:
            out: dict[str, float] = {}
            for device in self._start():
                try:
                    stats: Any = json.loads(self._run(["stats", "-d", str(device), "-j"]))
                except Exception as exc:
                    log.debug("intel: device %d: %r", device, exc)
                    continue
                for entry in stats.get("device_level", []):
                    field = _FIELDS.get(entry.get("metrics_type", ""))
                    value = entry.get("value")
                    if field is None or isinstance(value, bool) or not isinstance(value, int | float):
                        continue
                    out[f"sys/intel_gpu{device}/{field}"] = (
                        _memory_bytes(float(value)) if field == "memory_used" else float(value)
                    )
            return out
