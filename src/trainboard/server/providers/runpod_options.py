"""Per-launch RunPod settings: what ``POST /api/launch``'s ``runpod`` object may override of
``[providers.runpod]`` for one launch, and the checks RunPod would otherwise fail late.

```json
"runpod": {
  "volume": {"id": "abc123xyz", "size_gb": 0, "mount_path": "/workspace"},
  "interruptible": true, "bid_per_gpu": 0.35,
  "data_center_id": "EU-RO-1",
  "cuda_versions": ["12.4", "12.6"]
}
```

``volume.id`` names a network volume (it outlives the pod; the job's checkpoints go there); ``volume.size_gb``
without an id is a pod volume (gone with the pod); ``{"id": null, "size_gb": 0}`` asks for no volume at all.
A network volume named without a ``data_center_id`` runs in the volume's own data centre (the configured
data centre is not applied to another volume). ``resources.gpu_type`` picks the GPU type as before.
Every key is optional; what is left out keeps providers.toml's value. The launch record keeps what was asked
(``spec.options``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trainboard.server.providers.base import SpecError

if TYPE_CHECKING:
    from trainboard.server.providers.runpod import RunPodConfig

#: The keys of the ``runpod`` object (``Capabilities.options``).
RUNPOD_OPTIONS: tuple[str, ...] = ("volume", "interruptible", "bid_per_gpu", "data_center_id", "cuda_versions")


def for_launch(config: RunPodConfig, options: Mapping[str, Any], *, gpu: bool) -> RunPodConfig:
    """``config`` with the launch's ``options`` applied; ``SpecError`` naming ``runpod.<key>`` for a combination
    that cannot run (a spot pod without a bid, a spot CPU pod). The API validated each value's form already."""
    unknown = set(options) - set(RUNPOD_OPTIONS)
    if unknown:
        raise SpecError(f"runpod.{sorted(unknown)[0]}", f"not a RunPod option (known: {', '.join(RUNPOD_OPTIONS)})")
    changes: dict[str, Any] = {}
    volume = options.get("volume")
    if isinstance(volume, Mapping):
        if "id" in volume:
            changes["network_volume_id"] = volume["id"] or None
            if volume["id"] and "data_center_id" not in options:
                changes["data_center_id"] = None  # the volume's own data centre
        if "size_gb" in volume:
            changes["volume_in_gb"] = int(volume["size_gb"] or 0)
        elif volume.get("id"):
            changes["volume_in_gb"] = 0
        if volume.get("mount_path"):
            changes["volume_mount_path"] = str(volume["mount_path"]).rstrip("/") or "/"
    if "interruptible" in options:
        changes["interruptible"] = bool(options["interruptible"])
    if options.get("bid_per_gpu") is not None:
        changes["bid_per_gpu"] = float(options["bid_per_gpu"])
    if "data_center_id" in options:
        changes["data_center_id"] = options["data_center_id"] or None
    if options.get("cuda_versions") is not None:
        changes["allowed_cuda_versions"] = tuple(options["cuda_versions"])
    merged = dataclasses.replace(config, **changes)
    if merged.interruptible and not gpu:
        raise SpecError("runpod.interruptible", "spot (interruptible) pods are GPU pods: ask for resources.gpus")
    if merged.interruptible and merged.bid_per_gpu is None:
        raise SpecError(
            "runpod.bid_per_gpu", "a spot (interruptible) pod needs a bid in $/GPU/hour (none in providers.toml)"
        )
    return merged


def effective(config: RunPodConfig) -> dict[str, Any]:
    """The placement a launch ran with (kept with the launch: what "Run again" and a resume reuse)."""
    return {
        "network_volume_id": config.network_volume_id,
        "volume_in_gb": config.volume_in_gb,
        "volume_mount_path": config.volume_mount_path,
        "data_center_id": config.data_center_id,
        "cuda_versions": list(config.allowed_cuda_versions),
        "interruptible": config.interruptible,
        "bid_per_gpu": config.bid_per_gpu,
    }
