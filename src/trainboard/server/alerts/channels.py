"""Sending one notification: Apprise URLs (Slack, Discord, e-mail, ntfy, json:// ...) or ``webhook+http(s)://``,
a JSON POST signed with HMAC-SHA256 (``X-Trainboard-Signature: sha256=<hex>`` over the body, with the
``secret`` query parameter as key; the parameter itself is not sent). Blocking: the deliverer calls it in a
thread. Errors come back as text (recorded on the delivery), never raised, never with the URL's secrets.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

WEBHOOK = "webhook+"
TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Trainboard-Signature"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Apprise's plugins import deprecated modules (``imghdr``): not ours to fix, not worth a warning per send."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def check(url: str) -> str | None:
    """Why ``url`` cannot be a channel, or ``None`` when it can."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        return "must be a URL of at most 2000 characters"
    if url.startswith(WEBHOOK):
        parts = urlsplit(url[len(WEBHOOK) :])
        return None if parts.scheme in ("http", "https") and parts.hostname else "webhook+ needs an http(s) URL"
    with _quiet():
        import apprise

        return None if apprise.Apprise().add(url) else "is not an Apprise URL this server understands"


def _webhook(url: str, payload: dict[str, Any]) -> str | None:
    parts = urlsplit(url[len(WEBHOOK) :])
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = next((v for k, v in query if k == "secret"), "")
    target = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "secret"])))
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "trainboard-alerts"}
    if secret:
        headers[SIGNATURE_HEADER] = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(target, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} from {parts.hostname}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__} reaching {parts.hostname}: {getattr(exc, 'reason', exc)}"
    return None


def send(url: str, *, title: str, body: str, level: str, payload: dict[str, Any]) -> str | None:
    """Send one notification; the error (one or a few lines) or ``None`` when it was accepted."""
    if url.startswith(WEBHOOK):
        return _webhook(url, payload)
    with _quiet():
        import apprise

        notifier = apprise.Apprise()
        if not notifier.add(url):
            return "not an Apprise URL this server understands"
        kind = {"error": apprise.NotifyType.FAILURE, "info": apprise.NotifyType.INFO}.get(level)
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            ok = notifier.notify(body=body, title=title, notify_type=kind or apprise.NotifyType.WARNING)
    if ok:
        return None
    text = captured.getvalue().strip() if hasattr(captured, "getvalue") else ""
    return text[-1000:] or "the channel refused the notification"
