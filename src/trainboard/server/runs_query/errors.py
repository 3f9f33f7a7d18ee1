"""The one error of the query language: what is wrong, where (a 0-based character offset), in which parameter."""

from __future__ import annotations


class QueryError(ValueError):
    """A filter, sort or cursor that cannot be used; ``position`` is the 0-based offset into the text."""

    def __init__(self, message: str, position: int, param: str = "filter") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.param = param

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})"
