"""The broker's "you may have missed messages" signal to live streams.

When the fan-out between server processes is interrupted (Redis down, its connection restarting), a
process cannot know which messages other processes published meanwhile. Every second until it is back
(and for a few seconds after), its broker offers ``POLL`` to the raw-log (SSE) and line subscribers: each
such stream then reads from the database what is stored after its cursor (``stream.catch_up``) and goes on
waiting. Nothing is lost, because Redis is never the source of truth: the database is, and every stream
has a cursor into it. Dashboards (``/ws``) are closed with their "lagged" code instead: they reconnect with
the id of the last run-list message they got and are replayed what they missed (``stream.feed``).
"""

from __future__ import annotations

from typing import Final

#: Compared by identity (``message is POLL``); never sent over Redis.
POLL: Final = ("poll",)
