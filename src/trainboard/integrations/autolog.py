"""``trainboard.autolog()``: every HF ``Trainer`` and Lightning ``Trainer`` created afterwards logs to trainboard.

It wraps the classes' ``__init__`` (once: calling it again changes nothing); the wrapper adds a
``TrainboardCallback`` / ``TrainboardLogger`` unless the trainer already has one. ``autolog(disable=True)``
puts the original ``__init__`` back. Frameworks that are not installed are skipped; a framework is
imported here only when it is installed.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

_MARK = "__trainboard_autolog_original__"


def _patch(cls: Any, after_init: Callable[[Any], None]) -> None:
    if hasattr(cls.__init__, _MARK):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        after_init(self)

    setattr(__init__, _MARK, original)
    cls.__init__ = __init__


def _unpatch(cls: Any) -> None:
    original = getattr(cls.__init__, _MARK, None)
    if original is not None:
        cls.__init__ = original


def _add_hf_callback(trainer: Any) -> None:
    from trainboard.integrations.transformers import TrainboardCallback

    if not any(isinstance(c, TrainboardCallback) for c in trainer.callback_handler.callbacks):
        trainer.add_callback(TrainboardCallback())


def _add_lightning_logger(trainer: Any) -> None:
    from trainboard.integrations.lightning import TrainboardLogger

    if not any(isinstance(lg, TrainboardLogger) for lg in trainer.loggers):
        trainer.loggers = [*trainer.loggers, TrainboardLogger()]


#: (module to import, attribute holding the trainer class, what to do after its __init__)
TARGETS: tuple[tuple[str, str, Callable[[Any], None]], ...] = (
    ("transformers", "Trainer", _add_hf_callback),
    ("lightning.pytorch", "Trainer", _add_lightning_logger),
)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def autolog(disable: bool = False) -> list[str]:
    """Make every HF ``Trainer`` and Lightning ``Trainer`` created from now on log to trainboard (a run per
    trainer, attached to ``trainboard run``'s run when inside one). Idempotent. ``disable=True`` undoes it.
    Returns the frameworks patched (or unpatched)."""
    done: list[str] = []
    for module, attr, after_init in TARGETS:
        if not _installed(module.partition(".")[0]):
            continue
        cls = getattr(importlib.import_module(module), attr)
        if disable:
            _unpatch(cls)
        else:
            _patch(cls, after_init)
        done.append(module)
    return done
