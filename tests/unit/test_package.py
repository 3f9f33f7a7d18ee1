"""The package's shape: the public SDK surface, and a light ``import trainboard``.

The import directions between the rooms are tests/unit/test_import_rules.py."""

from __future__ import annotations

import subprocess
import sys

import trainboard


def test_public_names_match_all() -> None:
    public = {name for name in dir(trainboard) if not name.startswith("_")} | {"TrainingMonitor"}
    assert set(trainboard.__all__) == {
        "Histogram",
        "Image",
        "Table",
        "Text",
        "TrainingMonitor",
        "__version__",
        "autolog",
        "current_monitor",
        "finish",
        "init",
        "log",
    }
    assert set(trainboard.__all__) - {"__version__"} <= public
    for name in trainboard.__all__:
        assert getattr(trainboard, name).__doc__ or name == "__version__", name


def test_import_trainboard_is_light() -> None:
    code = (
        "import sys, trainboard; from trainboard import TrainingMonitor; "
        "bad = [m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'numpy', 'trainboard.server', 'torch', "
        "'transformers', 'lightning', 'keras', 'trainboard.integrations') if m in sys.modules];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
