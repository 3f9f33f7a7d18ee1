"""One system sample as a flat ``{"sys/...": float}`` dict; used by the SDK sampler and the server.

Keys (every one optional: a value this OS, this process or this driver cannot give is left out, never
faked; reading never raises):

``sys/cpu_percent``
    System-wide CPU busy time, 0-100, averaged over all cores (not 0-100 per core), over the window
    since the collector's previous reading.
``sys/ram_used``, ``sys/ram_total``, ``sys/ram_percent``
    Bytes in use (``total - available``, so it agrees with the percentage), bytes installed, percent used.
``sys/proc_rss``
    Resident set size in bytes of the process passed to :meth:`SystemCollector.collect` (that process
    alone, not its children).
``sys/disk_read_bytes_per_s``, ``sys/disk_write_bytes_per_s``, ``sys/net_sent_bytes_per_s``,
``sys/net_recv_bytes_per_s``
    Host-wide rates over the window since the previous reading (whole disks, all network interfaces).
``sys/gpu{i}/utilization``, ``sys/gpu{i}/memory_used``, ``sys/gpu{i}/memory_total``,
``sys/gpu{i}/power_watts``, ``sys/gpu{i}/temperature_c``
    Per NVIDIA GPU, ``i`` being NVML's index (which ignores ``CUDA_VISIBLE_DEVICES``): percent busy,
    bytes, bytes, watts, degrees Celsius. Without a GPU, a driver or a working NVML they are absent.
``sys/gpu{i}/proc_memory_used``, ``sys/gpu{i}/proc_utilization``, ``sys/gpu{i}/proc_count``
    The run's own share of NVIDIA GPU ``i`` (the process passed to ``collect`` and its descendants):
    ``trainboard.system_sources.nvidia_procs``. ``sys/amd_gpu{i}/...`` and ``sys/intel_gpu{i}/...``: AMD
    (``amdsmi``) and Intel (``xpu-smi``) boards, and keys of enabled ``trainboard.system_sources`` plugins
    (``trainboard.system_sources``).

Windowed values (CPU percent and the rates) need an earlier reading: a :class:`SystemCollector` takes
its first when it is made, and a call that comes less than ``MIN_WINDOW_S`` after the previous reading
leaves them out (and keeps that reading as the start of the next window). NVML is initialised once per
process, lazily, on the first GPU read; if that fails it is not retried, and one debug line is logged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

import psutil

if TYPE_CHECKING:
    from trainboard.system_sources import SystemSource

__all__ = [
    "GPU_FIELDS",
    "MIN_WINDOW_S",
    "PREFIX",
    "GpuStatus",
    "SystemCollector",
    "SystemStatus",
    "collect_sample",
    "nest_sample",
]

log = logging.getLogger(__name__)

PREFIX = "sys/"
"""Every key of a sample starts with this."""

MIN_WINDOW_S = 0.05
"""Shortest window, in seconds, over which CPU percent and rates are reported."""

# What psutil raises where a counter is missing on this OS, in this container or for this process.
_PSUTIL_ERRORS = (psutil.Error, OSError, RuntimeError, NotImplementedError, AttributeError, ValueError)


class _Counters(NamedTuple):
    """The cumulative readings that windowed values are computed from; ``None`` where unreadable."""

    time: float
    cpu: tuple[float, float] | None  # busy seconds, total seconds (all cores)
    disk: tuple[float, float] | None  # bytes read, bytes written
    net: tuple[float, float] | None  # bytes sent, bytes received


def _read_counters() -> _Counters:
    cpu = disk = net = None
    try:
        times = psutil.cpu_times()
        # psutil's own cpu_percent arithmetic: on Linux guest time is already counted in user/nice.
        total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
        cpu = (total - times.idle - getattr(times, "iowait", 0.0), total)
    except _PSUTIL_ERRORS:
        pass
    try:
        io = psutil.disk_io_counters()
        if io is not None:  # None: no disk this process can see
            disk = (float(io.read_bytes), float(io.write_bytes))
    except _PSUTIL_ERRORS:
        pass
    try:
        nio = psutil.net_io_counters()
        if nio is not None:
            net = (float(nio.bytes_sent), float(nio.bytes_recv))
    except _PSUTIL_ERRORS:
        pass
    return _Counters(time.monotonic(), cpu, disk, net)


def _windowed(new: _Counters, old: _Counters) -> dict[str, float]:
    """CPU percent and rates between two readings (at least ``MIN_WINDOW_S`` apart)."""
    out: dict[str, float] = {}
    seconds = new.time - old.time
    if new.cpu is not None and old.cpu is not None and new.cpu[1] > old.cpu[1]:
        busy = (new.cpu[0] - old.cpu[0]) / (new.cpu[1] - old.cpu[1]) * 100.0
        out[PREFIX + "cpu_percent"] = min(100.0, max(0.0, busy))
    pairs = (
        (new.disk, old.disk, ("disk_read_bytes_per_s", "disk_write_bytes_per_s")),
        (new.net, old.net, ("net_sent_bytes_per_s", "net_recv_bytes_per_s")),
    )
    for now_pair, old_pair, names in pairs:
        if now_pair is None or old_pair is None:
            continue
        for now_value, old_value, name in zip(now_pair, old_pair, names, strict=True):
            if now_value >= old_value:  # a counter that went backwards (device gone) gives no rate
                out[PREFIX + name] = (now_value - old_value) / seconds
    return out


class _Nvml:
    """The process's NVML session: initialised once, lazily; a failure disables GPU reads for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready: bool | None = None  # None: not tried yet
        self._handles: list[Any] = []
        self._logged_read_error = False

    def _start(self) -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            count = int(pynvml.nvmlDeviceGetCount())
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._ready = True
        except Exception as exc:  # no library, no driver, no device, or any NVML error: no GPU fields
            log.debug("NVML unavailable, GPU metrics off: %r", exc)
            self._handles = []
            self._ready = False

    def read(self) -> dict[str, float]:
        """Return the ``sys/gpu{i}/...`` fields that can be read now; never raises."""
        with self._lock:
            if self._ready is None:
                self._start()
            if not self._ready:
                return {}
            import pynvml

            sample: dict[str, float] = {}
            for index, handle in enumerate(self._handles):
                prefix = f"{PREFIX}gpu{index}/"
                for field, reader in _GPU_READERS:
                    try:
                        sample[prefix + field] = float(reader(pynvml, handle))
                    except Exception as exc:  # unsupported on this board, GPU lost, ...: leave it out
                        if not self._logged_read_error:
                            self._logged_read_error = True
                            log.debug("NVML read of %s failed: %r (further failures not logged)", field, exc)
            return sample


def _temperature(nvml: Any, handle: Any) -> float:
    read_v = getattr(nvml, "nvmlDeviceGetTemperatureV", None)  # newer bindings; the old call is deprecated
    if read_v is not None:
        try:
            return float(read_v(handle, nvml.NVML_TEMPERATURE_GPU))
        except nvml.NVMLError:  # a driver without the versioned call
            pass
    return float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))


_GPU_READERS: tuple[tuple[str, Callable[[Any, Any], float]], ...] = (
    ("utilization", lambda nvml, h: nvml.nvmlDeviceGetUtilizationRates(h).gpu),
    ("memory_used", lambda nvml, h: nvml.nvmlDeviceGetMemoryInfo(h).used),
    ("memory_total", lambda nvml, h: nvml.nvmlDeviceGetMemoryInfo(h).total),
    ("power_watts", lambda nvml, h: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0),  # milliwatts
    ("temperature_c", _temperature),
)

GPU_FIELDS = tuple(name for name, _ in _GPU_READERS)
"""The per-GPU field names, as in ``sys/gpu{i}/<field>``."""

_NVML = _Nvml()


class SystemCollector:
    """Takes system samples, keeping the previous cumulative counters to turn them into rates.

    Thread-safe. Construction takes the first reading (cheap, non-blocking), so the first
    :meth:`collect` already reports CPU percent and rates over the time since construction, unless
    it comes within ``MIN_WINDOW_S``.
    """

    def __init__(self, *, gpus: bool = True, sources: Sequence[SystemSource] | None = None) -> None:
        self._gpus = gpus
        self._lock = threading.Lock()
        self._previous = _read_counters()
        #: ``None``: the built-in accelerator sources and enabled plugins, loaded on the first GPU read.
        self._sources = sources

    def _accelerators(self, process: psutil.Process | None) -> dict[str, float]:
        if self._sources is None:
            from trainboard.system_sources import load_sources

            self._sources = load_sources()
        pids: set[int] = set()
        if process is not None:
            with contextlib.suppress(*_PSUTIL_ERRORS):
                pids = {process.pid, *(child.pid for child in process.children(recursive=True))}
        out: dict[str, float] = {}
        for source in self._sources:
            try:
                out.update(source.read(frozenset(pids)))
            except Exception as exc:  # a source must never break the sample; it should not raise anyway
                log.debug("system source %r failed: %r", getattr(source, "name", source), exc)
        return out

    def collect(self, process: psutil.Process | None = None) -> dict[str, float]:
        """Return one flat sample (see the module docstring); ``process`` adds ``sys/proc_rss``."""
        sample: dict[str, float] = {}
        with self._lock:
            now = _read_counters()
            if now.time - self._previous.time >= MIN_WINDOW_S:
                sample.update(_windowed(now, self._previous))
                self._previous = now
        try:
            memory = psutil.virtual_memory()
            sample[PREFIX + "ram_used"] = float(memory.total - memory.available)
            sample[PREFIX + "ram_total"] = float(memory.total)
            sample[PREFIX + "ram_percent"] = float(memory.percent)
        except _PSUTIL_ERRORS:
            pass
        if process is not None:
            with contextlib.suppress(*_PSUTIL_ERRORS):
                sample[PREFIX + "proc_rss"] = float(process.memory_info().rss)
        if self._gpus:
            sample.update(_NVML.read())
            sample.update(self._accelerators(process))
        return sample


_default_lock = threading.Lock()
_default: SystemCollector | None = None


def collect_sample(process: psutil.Process | None = None) -> dict[str, float]:
    """Return one flat ``sys/...`` sample from a process-wide :class:`SystemCollector`.

    Its windowed values cover the time since the previous call (the first call, which creates the
    collector, has none). Code that samples on its own schedule should own a ``SystemCollector``.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = SystemCollector()
        collector = _default
    return collector.collect(process)


class GpuStatus(TypedDict):
    """One GPU in :class:`SystemStatus`; ``None`` where the sample lacks the field."""

    index: int
    utilization: float | None
    memory_used: float | None
    memory_total: float | None
    power_watts: float | None
    temperature_c: float | None


class SystemStatus(TypedDict):
    """A sample nested for an API response; ``None`` where the sample lacks the field."""

    cpu_percent: float | None
    ram_used: float | None
    ram_total: float | None
    ram_percent: float | None
    proc_rss: float | None
    disk_read_bytes_per_s: float | None
    disk_write_bytes_per_s: float | None
    net_sent_bytes_per_s: float | None
    net_recv_bytes_per_s: float | None
    gpus: list[GpuStatus]


def nest_sample(sample: dict[str, float]) -> SystemStatus:
    """Turn a flat sample into ``{"cpu_percent": ..., ..., "gpus": [{"index": 0, ...}]}``.

    Every field is present (``None`` when missing) so the shape is fixed; GPUs are sorted by index and
    keys this function does not know are ignored.
    """
    gpu_prefix = PREFIX + "gpu"
    indexes = sorted(
        {
            int(head)
            for key in sample
            if key.startswith(gpu_prefix) and (head := key[len(gpu_prefix) :].partition("/")[0]).isdigit()
        }
    )

    def get(name: str) -> float | None:
        return sample.get(PREFIX + name)

    gpus = [
        GpuStatus(
            index=i,
            utilization=get(f"gpu{i}/utilization"),
            memory_used=get(f"gpu{i}/memory_used"),
            memory_total=get(f"gpu{i}/memory_total"),
            power_watts=get(f"gpu{i}/power_watts"),
            temperature_c=get(f"gpu{i}/temperature_c"),
        )
        for i in indexes
    ]
    return SystemStatus(
        cpu_percent=get("cpu_percent"),
        ram_used=get("ram_used"),
        ram_total=get("ram_total"),
        ram_percent=get("ram_percent"),
        proc_rss=get("proc_rss"),
        disk_read_bytes_per_s=get("disk_read_bytes_per_s"),
        disk_write_bytes_per_s=get("disk_write_bytes_per_s"),
        net_sent_bytes_per_s=get("net_sent_bytes_per_s"),
        net_recv_bytes_per_s=get("net_recv_bytes_per_s"),
        gpus=gpus,
    )
