"""Filter expression nodes. Every node keeps the offset where it starts, for error messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: Comparison operators: ``~`` is a case-insensitive substring match, ``!~`` its negation; ``contains`` is
#: the same on text and membership on tags (``tags contains x``: a tag equal to x).
Op = Literal["=", "!=", "<", "<=", ">", ">=", "~", "!~", "contains", "!contains"]
Agg = Literal["last", "min", "max", "count"]


@dataclass(frozen=True)
class Value:
    """A literal: a number, or text (quoted, or a bare word; ``quoted`` tells which)."""

    value: float | str
    quoted: bool
    pos: int
    raw: str = ""  # as written (a number's spelling, for text comparisons)

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, float)


@dataclass(frozen=True)
class Name:
    """A field name as written (resolved by ``fields.resolve``)."""

    text: str
    pos: int


@dataclass(frozen=True)
class Compare:
    name: Name
    op: Op
    value: Value
    pos: int


@dataclass(frozen=True)
class In:
    """``name in (a, b, c)`` (``negated``: ``not in``)."""

    name: Name
    values: tuple[Value, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    item: Node
    pos: int


Node = Compare | In | And | Or | Not
