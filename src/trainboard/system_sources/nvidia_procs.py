"""The run's own share of each NVIDIA GPU, from NVML's per-process lists.

On a GPU several jobs share, ``sys/gpu{i}/memory_used`` and ``utilization`` are the whole board's; this source
adds what the run's processes (the process sampled and its descendants) use:

``sys/gpu{i}/proc_memory_used``
    bytes of GPU memory held by the run's processes (``nvmlDeviceGetComputeRunningProcesses`` and
    ``...GraphicsRunningProcesses``, summed over the run's pids). Left out when NVML cannot say (Windows WDDM
    reports no per-process memory: ``usedGpuMemory`` is ``None``).
``sys/gpu{i}/proc_utilization``
    percent of the GPU's SMs busy with the run's processes over the window since the previous read
    (``nvmlDeviceGetProcessUtilization``'s ``smUtil`` samples: the mean per process, summed, capped at 100);
    0 when NVML has no sample of them in the window (they did not run a kernel).
``sys/gpu{i}/proc_count``
    how many of the run's processes hold a context on the GPU.

Keys appear for a GPU once one of the run's processes has used it (then stay, at 0, after they let go), so a
run that never touches GPU 3 gets no ``gpu3/proc_*`` keys. NVML reports host process ids: inside a container
with its own PID namespace no pid matches and the keys are absent (the board-wide keys remain).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ["NvidiaProcesses"]

log = logging.getLogger(__name__)


class NvidiaProcesses:
    """The ``nvidia-processes`` system source (see the module docstring)."""

    name = "nvidia-processes"

    def __init__(self, nvml: Any = None) -> None:
        #: The NVML binding (``pynvml``); a test passes a recorded stand-in.
        self._nvml = nvml
        self._lock = threading.Lock()
        self._handles: list[Any] | None = None
        self._why = "not read yet"
        self._last_seen: dict[int, int] = {}  # GPU index -> newest utilisation sample timestamp (µs)
        self._used: set[int] = set()

    def _start(self) -> list[Any]:
        if self._handles is not None:
            return self._handles
        try:
            if self._nvml is None:
                import pynvml

                self._nvml = pynvml
            self._nvml.nvmlInit()
            count = int(self._nvml.nvmlDeviceGetCount())
            self._handles = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._why = f"{count} GPU(s) through NVML"
        except Exception as exc:  # no binding, no driver, no device
            self._handles = []
            self._why = f"NVML unavailable: {type(exc).__name__}: {exc}"
            log.debug("nvidia-processes: %s", self._why)
        return self._handles

    def status(self) -> str:
        with self._lock:
            handles = self._start()
        return ("detected: " if handles else "not detected: ") + self._why

    def read(self, pids: frozenset[int]) -> dict[str, float]:
        if not pids:
            return {}
        with self._lock:
            out: dict[str, float] = {}
            for index, handle in enumerate(self._start()):
                try:
                    out.update(self._read_gpu(index, handle, pids))
                except Exception as exc:  # a GPU lost, an unsupported call: leave its keys out this time
                    log.debug("nvidia-processes: GPU %d: %r", index, exc)
            return out

    def _processes(self, handle: Any) -> dict[int, int | None]:
        """pid -> bytes (``None``: unknown) of every process with a context on the GPU."""
        procs: dict[int, int | None] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                listed = getattr(self._nvml, getter)(handle)
            except self._nvml.NVMLError_NotSupported:
                continue
            for proc in listed:
                used = proc.usedGpuMemory
                if proc.pid in procs and procs[proc.pid] is not None and used is not None:
                    procs[proc.pid] = max(procs[proc.pid] or 0, int(used))  # listed as both compute and graphics
                else:
                    procs[proc.pid] = None if used is None else int(used)
        return procs

    def _utilization(self, index: int, handle: Any, pids: frozenset[int]) -> float:
        try:
            samples = self._nvml.nvmlDeviceGetProcessUtilization(handle, self._last_seen.get(index, 0))
        except self._nvml.NVMLError_NotFound:  # no process ran a kernel since the last read
            return 0.0
        per_pid: dict[int, list[int]] = {}
        for sample in samples:
            self._last_seen[index] = max(self._last_seen.get(index, 0), int(sample.timeStamp))
            if sample.pid in pids:
                per_pid.setdefault(sample.pid, []).append(int(sample.smUtil))
        return min(100.0, sum(sum(v) / len(v) for v in per_pid.values()))

    def _read_gpu(self, index: int, handle: Any, pids: frozenset[int]) -> dict[str, float]:
        procs = self._processes(handle)
        ours = {pid: used for pid, used in procs.items() if pid in pids}
        if ours:
            self._used.add(index)
        if index not in self._used:
            # still read the utilisation so the next window starts now, not at the run's start
            self._utilization(index, handle, pids)
            return {}
        prefix = f"sys/gpu{index}/proc_"
        out = {prefix + "count": float(len(ours)), prefix + "utilization": self._utilization(index, handle, pids)}
        if all(used is not None for used in ours.values()):
            out[prefix + "memory_used"] = float(sum(used or 0 for used in ours.values()))
        return out
