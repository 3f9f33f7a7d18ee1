"""Random credentials and their stored form. Tokens, session ids and login codes are 32 random bytes, so
SHA-256 is enough to store them (a slow hash protects low-entropy secrets, i.e. passwords)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "tb_"
#: How much of a token is kept in clear for listings: ``tb_`` and 6 characters.
SHOWN_CHARS = 9


def new_token() -> str:
    """``tb_`` + 43 url-safe characters."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def new_login_code() -> str:
    return secrets.token_urlsafe(24)


def digest(secret: str) -> str:
    """The stored form of a random secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def shown_prefix(token: str) -> str:
    return token[:SHOWN_CHARS]


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
