"""In-process capture of a process whose stdout and stderr share a destination keeps their order."""

from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import os, sys
from trainboard.sdk.capture import OutputCapture
seen = []
with OutputCapture(lambda source, chunk: seen.append((source, chunk))):
    for i in range(200):
        sys.stderr.write(f"[err {i}]")
        sys.stderr.flush()
        sys.stdout.write(f"[out {i}]")
        sys.stdout.flush()
got = b"".join(c for _s, c in seen)
sources = {s for s, _c in seen}
os.write(int(sys.argv[1]), repr((got, sources)).encode())
"""


def test_shared_destination_is_captured_in_order() -> None:
    import ast
    import os

    r, w = os.pipe()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(w)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        pass_fds=(w,),
        env=dict(os.environ) | {"PYTHONPATH": os.pathsep.join(sys.path)},
        timeout=60,
        check=False,
    )
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        report = fh.read()
    assert proc.returncode == 0, proc.stdout
    got, sources = ast.literal_eval(report.decode())
    expected = "".join(f"[err {i}][out {i}]" for i in range(200)).encode()
    assert got == expected  # the exact interleaving
    assert proc.stdout == expected  # and the real destination got the same bytes
    assert sources == {"stdout"}
