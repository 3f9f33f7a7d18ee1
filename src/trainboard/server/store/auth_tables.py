"""Tables of the authentication layer (issue 12): users, API tokens, browser sessions, one-time login codes,
the audit log. They share ``tables.metadata``; migration 0005 creates them (0010: 64-bit ids, ``can_launch``).

Secrets are never stored: tokens, session ids and login codes are kept as SHA-256 hex digests (they are
32 random bytes, so a slow hash adds nothing), passwords as Argon2id hashes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, String, Table, Text

from trainboard.server.store.tables import WIDE_ID, metadata

users = Table(
    "users",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),  # None: a user made by the auth proxy, who has no password here
    Column("disabled", Boolean, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    # an admin's explicit grant: this user may launch runs without being an admin (migration 0010)
    Column("can_launch", Boolean, nullable=False, server_default="0"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("run_id", String(64)),  # a run-scoped token: only this run
    Column("user_name", String(256)),  # None: a service token acting with its scope alone
    Column("prefix", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("last_used_at", Float),
    Column("revoked", Boolean, nullable=False, server_default="0"),
    Index("ix_api_tokens_user", "user_name"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_name", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Index("ix_sessions_user", "user_name"),
)

login_codes = Table(
    "login_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("user_name", String(256), nullable=False),
    Column("expires_at", Float, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", WIDE_ID, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False),
    Column("user_name", String(256)),
    Column("action", String(32), nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    Column("ip", String(64), nullable=False, server_default=""),
    Index("ix_audit_log_time", "time"),
)
