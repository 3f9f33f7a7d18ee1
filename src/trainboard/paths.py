"""Where trainboard keeps its files: ``--data DIR``, else ``$TRAINBOARD_DATA``, else ``~/.trainboard``."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data directory (not created here)."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("TRAINBOARD_DATA")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.home() / ".trainboard").resolve()


def spool_dir(base: Path) -> Path:
    """Directory of SDK journals not yet fully uploaded."""
    return base / "spool"


def server_url(explicit: str | None = None) -> str:
    """The server the SDK and CLI talk to: argument, else ``$TRAINBOARD_URL``, else the default.

    ``ws://`` and ``wss://`` forms are accepted and mapped to ``http://`` and ``https://``.
    """
    url = explicit or os.environ.get("TRAINBOARD_URL") or DEFAULT_URL
    url = url.rstrip("/")
    if url.startswith("ws://"):
        url = "http://" + url[len("ws://") :]
    elif url.startswith("wss://"):
        url = "https://" + url[len("wss://") :]
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"server URL must start with http://, https://, ws:// or wss://, got {url!r}")
    return url
