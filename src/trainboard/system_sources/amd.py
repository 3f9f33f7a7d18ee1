"""AMD GPUs through ``amdsmi`` (ROCm's AMD SMI Python library).

Keys, per GPU ``i`` in ``amdsmi_get_processor_handles()`` order (``sys/amd_gpu{i}/...``, so a machine with both
NVIDIA and AMD boards keeps them apart): ``utilization`` (``gfx_activity``, percent), ``memory_used`` and
``memory_total`` (bytes; amdsmi reports MB), ``power_watts`` (``current_socket_power``, else
``average_socket_power``), ``temperature_c`` (edge), and the run's share: ``proc_memory_used`` (VRAM bytes of the
run's processes, ``amdsmi_get_gpu_process_list``) and ``proc_count``. A value amdsmi reports as ``"N/A"`` is left
out. Without ``amdsmi``, or when ``amdsmi_init`` fails (no driver), the source is "not detected" and adds nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["AmdSmi"]

log = logging.getLogger(__name__)

_MB = 1024 * 1024


def _number(value: Any) -> float | None:
    """amdsmi's numbers, or ``None`` for its ``"N/A"`` (and anything else that is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class AmdSmi:
    """The ``amd`` system source (see the module docstring)."""

    name = "amd"

    def __init__(self, amdsmi: Any = None) -> None:
        self._lib = amdsmi  # a test passes a recorded stand-in
        self._lock = threading.Lock()
        self._handles: list[Any] | None = None
        self._why = "not read yet"

    def _start(self) -> list[Any]:
        if self._handles is not None:
            return self._handles
        try:
            if self._lib is None:
                import amdsmi  # type: ignore[import-not-found,unused-ignore]

                self._lib = amdsmi
            self._lib.amdsmi_init()
            self._handles = list(self._lib.amdsmi_get_processor_handles())
            self._why = f"{len(self._handles)} GPU(s) through amdsmi"
        except Exception as exc:  # ImportError, AmdSmiLibraryException (no driver), ...
            self._handles = []
            self._why = f"amdsmi unavailable: {type(exc).__name__}: {exc}"
        return self._handles

    def status(self) -> str:
        with self._lock:
            handles = self._start()
        return ("detected: " if handles else "not detected: ") + self._why

    def read(self, pids: frozenset[int]) -> dict[str, float]:
        with self._lock:
            out: dict[str, float] = {}
            for index, handle in enumerate(self._start()):
                prefix = f"sys/amd_gpu{index}/"
                for field, reader in self._readers():
                    try:
                        value = reader(handle)
                    except Exception as exc:  # AmdSmiException: unsupported on this board
                        log.debug("amd: GPU %d %s: %r", index, field, exc)
                        continue
                    if value is not None:
                        out[prefix + field] = value
                if pids:
                    out.update(self._share(prefix, handle, pids))
            return out

    def _readers(self) -> tuple[tuple[str, Callable[[Any], float | None]], ...]:
        lib = self._lib

        def memory(key: str) -> Callable[[Any], float | None]:
            def read(h: Any) -> float | None:
                mb = _number(lib.amdsmi_get_gpu_vram_usage(h).get(key))
                return None if mb is None else mb * _MB

            return read

        def power(h: Any) -> float | None:
            info = lib.amdsmi_get_power_info(h)
            current = _number(info.get("current_socket_power"))
            return current if current is not None else _number(info.get("average_socket_power"))

        def temperature(h: Any) -> float | None:
            return _number(
                lib.amdsmi_get_temp_metric(h, lib.AmdSmiTemperatureType.EDGE, lib.AmdSmiTemperatureMetric.CURRENT)
            )

        return (
            ("utilization", lambda h: _number(lib.amdsmi_get_gpu_activity(h).get("gfx_activity"))),
            ("memory_used", memory("vram_used")),
            ("memory_total", memory("vram_total")),
            ("power_watts", power),
            ("temperature_c", temperature),
        )

    def _share(self, prefix: str, handle: Any, pids: frozenset[int]) -> dict[str, float]:
        try:
            listed = self._lib.amdsmi_get_gpu_process_list(handle)
            # ROCm 6 returns dicts; ROCm 5 returned process handles to pass to amdsmi_get_gpu_process_info
            infos = [p if isinstance(p, dict) else self._lib.amdsmi_get_gpu_process_info(handle, p) for p in listed]
        except Exception as exc:
            log.debug("amd: process list: %r", exc)
            return {}
        ours = [p for p in infos if p.get("pid") in pids]
        out = {prefix + "proc_count": float(len(ours))}
        vram = [_number((p.get("memory_usage") or {}).get("vram_mem")) for p in ours]
        if all(v is not None for v in vram):
            out[prefix + "proc_memory_used"] = sum(v or 0.0 for v in vram)
        return out
