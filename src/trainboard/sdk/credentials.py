"""Which token and which certificates the SDK and the CLI use for a server.

Token: the ``token=`` argument / ``--token``, else ``$TRAINBOARD_TOKEN``, else what ``trainboard login URL``
stored for that URL in ``credentials.json`` (in ``$TRAINBOARD_CONFIG_DIR``, default ``~/.config/trainboard``),
a file only its owner may read (mode 0600, like ``wandb login``). A token is never printed: the classes that
hold one show it as ``tb_…`` in their reprs.

Certificates: verified always; a private CA is taken from ``$TRAINBOARD_CA_BUNDLE``, else ``$SSL_CERT_FILE``
(httpx reads the latter itself too), else the system's store. Proxies (``HTTPS_PROXY``) are honoured by httpx.
"""

from __future__ import annotations

import json
import os
import ssl
import tempfile
from pathlib import Path

ENV_TOKEN = "TRAINBOARD_TOKEN"
ENV_CONFIG_DIR = "TRAINBOARD_CONFIG_DIR"
ENV_CA_BUNDLE = "TRAINBOARD_CA_BUNDLE"
FILE_NAME = "credentials.json"


class CredentialsError(Exception):
    """The credentials file cannot be read or written; ``str()`` is a one-line message."""


def config_dir() -> Path:
    """``$TRAINBOARD_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/trainboard``, else ``~/.config/trainboard``."""
    explicit = os.environ.get(ENV_CONFIG_DIR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "trainboard"


def credentials_path() -> Path:
    return config_dir() / FILE_NAME


def normalize_url(url: str) -> str:
    """The key a URL is stored under: scheme and host lower-case, no trailing slash."""
    scheme, sep, rest = url.strip().rstrip("/").partition("://")
    if not sep:
        return url.strip().rstrip("/")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def load_all() -> dict[str, str]:
    """Every stored ``{url: token}``; empty when there is no file (or it cannot be read as JSON)."""
    try:
        data = json.loads(credentials_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _write_all(entries: dict[str, str]) -> Path:
    """Write the file atomically, created with mode 0600 (never readable by others, not even for a moment)."""
    folder = config_dir()
    path = folder / FILE_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".credentials-", suffix=".tmp")  # mkstemp: mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=2, sort_keys=True)
                out.write("\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CredentialsError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def store(url: str, token: str) -> Path:
    """Remember ``token`` for ``url``; returns the file's path."""
    entries = load_all()
    entries[normalize_url(url)] = token
    return _write_all(entries)


def remove(url: str) -> bool:
    """Forget the token stored for ``url``; whether there was one."""
    entries = load_all()
    if entries.pop(normalize_url(url), None) is None:
        return False
    _write_all(entries)
    return True


def stored_token(url: str) -> str | None:
    return load_all().get(normalize_url(url))


def resolve_token(url: str, explicit: str | None = None) -> str | None:
    """The token for ``url``: ``explicit``, else ``$TRAINBOARD_TOKEN``, else the stored one, else ``None``."""
    for candidate in (explicit, os.environ.get(ENV_TOKEN)):
        if candidate and candidate.strip():
            return candidate.strip()
    return stored_token(url)


def ca_bundle() -> str | None:
    """The CA file to verify servers with: ``$TRAINBOARD_CA_BUNDLE``, else ``$SSL_CERT_FILE``, else ``None``."""
    for name in (ENV_CA_BUNDLE, "SSL_CERT_FILE"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def verify() -> ssl.SSLContext | bool:
    """What to pass as httpx's ``verify=``: a context trusting the CA bundle, else ``True`` (the system store).

    A missing or unreadable bundle is not silently ignored: :class:`CredentialsError` names the variable.
    """
    bundle = ca_bundle()
    if bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=bundle)
    except (OSError, ssl.SSLError) as exc:
        name = ENV_CA_BUNDLE if os.environ.get(ENV_CA_BUNDLE) else "SSL_CERT_FILE"
        raise CredentialsError(f"{name}={bundle}: not a readable CA file ({exc})") from None


#: Proxy variables httpx honours (``trust_env``); an ``https://`` proxy needs TLS even for an ``http://`` server.
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def verify_for(base_url: str) -> ssl.SSLContext | bool:
    """``verify()`` for a server at ``base_url``; ``False`` (no certificates loaded: nothing to check) for a
    plain ``http://`` server reached without an ``https://`` proxy — loading the CA store costs a start of
    ``trainboard run`` tens of milliseconds for a connection that never uses TLS."""
    if base_url.startswith("http://") and not any(
        os.environ.get(name, "").lower().startswith("https://") for name in _PROXY_VARIABLES
    ):
        return False
    return verify()


def auth_headers(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def is_certificate_error(exc: BaseException) -> bool:
    """Whether an httpx error was caused by a certificate the client does not trust."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def certificate_message(url: str) -> str:
    return f"certificate verify failed for {url}: set {ENV_CA_BUNDLE} to your CA file"


def auth_message(url: str, status: int, detail: str = "") -> str:
    """The one line shown for a 401/403 answer (the token itself never appears)."""
    why = f": {detail}" if detail else ""
    if status == 401:
        return (
            f"{url} refused the credentials (HTTP 401{why}); pass --token / token=, set {ENV_TOKEN}, or run "
            f"`trainboard login {url}`"
        )
    return f"{url} refused the request (HTTP 403{why}); the token's scope or the user's role is too low"
