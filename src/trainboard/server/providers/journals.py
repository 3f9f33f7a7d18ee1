"""Uploading what a launched job could not: its client's journals, sent by the server once the job has ended.

A job whose ``trainboard run`` could not reach the server (it restarted, or the job's end came while it was
down) leaves its requests in the journal of its own client data directory. The job is over, so nobody would
send them again; the provider that owns those files (``local``) hands the directory to the launch service,
which calls :func:`upload_leftovers` with the URL the job used and a token scoped to the job's run.

The upload is the client's own replay — ``trainboard.sdk.sync.upload_data_dir`` (sequence numbers make a second
send a no-op, a torn last line is cut, refusals become dead letters, another server's journals stay) — run in a
child process of this interpreter with the environment a job would have: ``TRAINBOARD_CA_BUNDLE`` when the
server serves HTTPS with a private CA (the client reads its CA from the environment only), an empty config
directory (no stored login applies). The child keeps those settings out of the server's own environment and
bounds the time an upload takes. The token reaches it on standard input, never in argv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trainboard.server.providers.local import BASE_ENV

__all__ = ["UPLOAD_TIMEOUT", "Upload", "upload_leftovers"]

#: Seconds one upload may take before it is abandoned (the journal stays for ``trainboard sync``).
UPLOAD_TIMEOUT = 120.0

# Runs in the child: standard input is {"data", "url", "token"}; standard output one JSON line (the outcome).
# ``upload_data_dir`` is the SDK's function for this; ``sync`` over the data directory's spool is the same
# replay for an SDK without it.
_CHILD = r"""
import json, sys
args = json.loads(sys.stdin.read())
try:
    from trainboard.sdk.sync import upload_data_dir
except ImportError:
    upload_data_dir = None
if upload_data_dir is not None:
    report = upload_data_dir(args["data"], args["url"], args["token"])
else:
    from pathlib import Path
    from trainboard.sdk.sync import sync
    from trainboard.sdk.transport import Transport
    transport = Transport(args["url"], token=args["token"])
    try:
        report = sync(Path(args["data"]) / "spool", transport)
    finally:
        transport.close()
why = None
if report.denied is not None:
    why = f"refused: HTTP {report.denied.status} {report.denied.detail}"
elif report.unreachable is not None:
    why = f"unreachable: {report.unreachable.detail or report.unreachable.status}"
elif getattr(report, "elsewhere", None):
    why = f"{len(report.elsewhere)} journal(s) belong to another server"
print(json.dumps({"journals": report.journals, "bytes": report.bytes, "dead": len(report.dead), "error": why}))
"""


@dataclass(frozen=True)
class Upload:
    """How an upload went: ``ok`` when everything was sent; ``message`` says what was sent or what failed."""

    ok: bool
    message: str


def upload_leftovers(
    data_dir: Path, *, server_url: str, token: str | None, ca_bundle: Path | None, timeout: float = UPLOAD_TIMEOUT
) -> Upload:
    """Send every journal of the client data directory ``data_dir`` to ``server_url`` (blocking: call it off the
    event loop)."""
    env = {k: os.environ[k] for k in BASE_ENV if k in os.environ}
    if ca_bundle is not None:
        env["TRAINBOARD_CA_BUNDLE"] = str(ca_bundle)
    with tempfile.TemporaryDirectory(prefix="trainboard-upload-") as config:
        env["TRAINBOARD_CONFIG_DIR"] = config
        env["TRAINBOARD_DATA"] = str(data_dir)
        request = json.dumps({"data": str(data_dir), "url": server_url, "token": token})
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD],
                env=env,
                input=request.encode(),
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Upload(False, f"no end within {timeout:g} s")
        except OSError as exc:
            return Upload(False, f"cannot start the upload: {exc.strerror or exc}")
    try:
        outcome = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return Upload(False, f"the upload failed: {tail[-1][:300] if tail else f'exit {done.returncode}'}")
    if outcome.get("error"):
        return Upload(False, str(outcome["error"])[:300])
    dead = f", {outcome['dead']} request(s) refused (kept as dead letters)" if outcome.get("dead") else ""
    return Upload(True, f"{outcome['journals']} journal(s), {outcome['bytes']} bytes{dead}")
