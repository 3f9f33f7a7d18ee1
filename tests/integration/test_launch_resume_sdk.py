"""What a relaunched job sees of "Run again, resuming": ``TRAINBOARD_CHECKPOINT_DIR`` is
``resume_or_create``'s default checkpoint directory, and ``get_last_checkpoint`` of a new run that has none of
its own returns the checkpoint ``TRAINBOARD_RESUME_FROM`` names (through the SDK against a real server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import ServerProcess

PROGRAM = """
import json
from trainboard import TrainingMonitor
mon = TrainingMonitor.resume_or_create(run_name="resumed-job", flush_timeout=5)
print(json.dumps({"dir": mon._checkpoint_dir, "last": mon.get_last_checkpoint()}))
mon.finish()
"""


def test_a_relaunched_job_finds_the_checkpoint_it_resumes_from(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path / "data", db_url=None).start(timeout=90)
    try:
        resume = "s3://bucket/trainboard/old-run/step_200.pt"  # a URL: handed over as the record, not loaded
        env = {
            **server.env(),
            "TRAINBOARD_CHECKPOINT_DIR": str(tmp_path / "volume" / "new-run"),
            "TRAINBOARD_RESUME_FROM": resume,
            "TRAINBOARD_BACKGROUND_UPLOAD": "0",
        }
        env.pop("TRAINBOARD_TOKEN", None)
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout.strip().splitlines()[-1])
        assert seen["dir"] == str(tmp_path / "volume" / "new-run")
        assert seen["last"] == {"path": resume, "resumed_from": True}
        # without the variables: no default directory, nothing to resume from
        plain = {k: v for k, v in env.items() if not k.startswith(("TRAINBOARD_CHECKPOINT", "TRAINBOARD_RESUME"))}
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM.replace("resumed-job", "plain-job")],
            env=plain, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"dir": None, "last": None}
        assert os.environ.get("TRAINBOARD_RESUME_FROM") is None
    finally:
        server.stop()
